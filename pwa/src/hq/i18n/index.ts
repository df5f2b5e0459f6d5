// HQ strings: their own catalogues (the volunteer bundle never carries them), the shared locale
// (src/shared/i18n: one choice for both apps) and CLDR plural rules through Intl.PluralRules
// (Romanian: "1 contact", "2 contacte", "20 de contacte").
import { locale } from '@shared/i18n/locale'
import { en, type HqKey } from './en'
import { fr } from './fr'
import { ro } from './ro'

export const hqDictionaries: Record<'en' | 'fr' | 'ro', Record<HqKey, string>> = { en, fr, ro }

function fill(s: string, params?: Record<string, string | number>): string {
  return params ? s.replace(/\{(\w+)\}/g, (m, k: string) => (k in params ? String(params[k]) : m)) : s
}

export function ht(key: HqKey, params?: Record<string, string | number>): string {
  return fill(hqDictionaries[locale.value][key] ?? en[key], params)
}

/** Plural forms live in one string per key, "one|few|other" (few only where the locale has it). */
export function hn(key: HqKey, n: number): string {
  const forms = (hqDictionaries[locale.value][key] ?? en[key]).split('|')
  const rule = new Intl.PluralRules(locale.value).select(n)
  const order = forms.length === 3 ? ['one', 'few', 'other'] : ['one', 'other']
  const i = order.indexOf(rule)
  const form = forms[i >= 0 ? i : forms.length - 1] ?? forms[0] ?? ''
  return fill(form, { n: new Intl.NumberFormat(locale.value).format(n) })
}

export function fmtNumber(n: number | null | undefined): string {
  return n == null ? '' : new Intl.NumberFormat(locale.value).format(n)
}

export function fmtDate(iso: string | null | undefined): string {
  if (!iso) return ''
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : new Intl.DateTimeFormat(locale.value, { dateStyle: 'medium', timeStyle: 'short' }).format(d)
}

export type { HqKey }
