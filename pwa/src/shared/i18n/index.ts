// Tiny typed i18n: one dictionary per locale, chosen from navigator.language, switchable in Profile.
import { en, type MessageKey, type Messages } from './en'
import { fr } from './fr'
import { ro } from './ro'

export { LOCALES, locale, pickLocale, setLocale, type Locale } from './locale'
import { locale, type Locale } from './locale'
export const dictionaries: Record<Locale, Messages> = { en, fr, ro }

const pluralRules = new Map<string, Intl.PluralRules>()
const PLURAL = /^(zero|one|two|few|many|other):/

/** A message with plural forms ("one:{n} attempt|other:{n} attempts"; Romanian adds "few:"), chosen for `n` by
 * the language's rules (Intl.PluralRules): "1 încercare", "2 încercări", "20 de încercări". */
export function pluralForm(l: string, s: string, n: number): string {
  if (!PLURAL.test(s)) return s
  const forms: Record<string, string> = {}
  for (const f of s.split('|')) {
    const i = f.indexOf(':')
    forms[f.slice(0, i)] = f.slice(i + 1)
  }
  let rules = pluralRules.get(l)
  if (!rules) pluralRules.set(l, (rules = new Intl.PluralRules(l)))
  return forms[rules.select(n)] ?? forms.other ?? s
}

export function translate(l: Locale, key: MessageKey, params?: Record<string, string | number>): string {
  let s: string = dictionaries[l][key] ?? en[key]
  if (typeof params?.n === 'number') s = pluralForm(l, s, params.n)
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
