import type { HqKey } from './en'
import { en } from './en'
// French: keys not yet translated fall back to English (see tests/hq-i18n.test.ts for the complete ones).
export const fr: Record<HqKey, string> = { ...en }
