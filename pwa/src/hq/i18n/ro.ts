import type { HqKey } from './en'
import { en } from './en'
// Romanian: keys not yet translated fall back to English (see tests/hq-i18n.test.ts for the complete ones).
export const ro: Record<HqKey, string> = { ...en }
