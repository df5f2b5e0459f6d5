// Tiny typed i18n: one dictionary per locale, chosen from navigator.language, switchable in Profile.
import { en, type MessageKey, type Messages } from './en'
import { fr } from './fr'
import { ro } from './ro'

export { LOCALES, locale, pickLocale, setLocale, type Locale } from './locale'
import { locale, type Locale } from './locale'
export const dictionaries: Record<Locale, Messages> = { en, fr, ro }

export function translate(l: Locale, key: MessageKey, params?: Record<string, string | number>): string {
  const s = dictionaries[l][key] ?? en[key]
  return params ? s.replace(/\{(\w+)\}/g, (m, k: string) => (k in params ? String(params[k]) : m)) : s
}

export function t(key: MessageKey, params?: Record<string, string | number>): string {
  return translate(locale.value, key, params)
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return new Intl.DateTimeFormat(locale.value, { dateStyle: 'medium', timeStyle: 'short' }).format(d)
}

/** Label of a target status; unknown statuses from a newer server are shown as sent. */
export function targetStatusLabel(status: string): string {
  const key = `targetStatus.${status}`
  return key in en ? t(key as MessageKey) : status
}

export type { MessageKey }
