// Tiny typed i18n: one dictionary per locale, chosen from navigator.language, switchable in Profile.
import { ref } from 'vue'
import { en, type MessageKey, type Messages } from './en'
import { fr } from './fr'
import { ro } from './ro'

export type Locale = 'en' | 'fr' | 'ro'
export const LOCALES: { code: Locale; label: string }[] = [
  { code: 'en', label: 'English' },
  { code: 'fr', label: 'Français' },
  { code: 'ro', label: 'Română' },
]
export const dictionaries: Record<Locale, Messages> = { en, fr, ro }
const STORAGE_KEY = 'gg.locale'

export function pickLocale(candidates: readonly string[]): Locale {
  for (const c of candidates) {
    const base = c.toLowerCase().split('-')[0]
    if (base === 'en' || base === 'fr' || base === 'ro') return base
  }
  return 'en'
}

function initial(): Locale {
  try {
    const saved = localStorage.getItem(STORAGE_KEY)
    if (saved === 'en' || saved === 'fr' || saved === 'ro') return saved
  } catch {
    /* no storage */
  }
  const nav = globalThis.navigator
  return pickLocale(nav ? [...(nav.languages ?? []), nav.language ?? 'en'] : ['en'])
}

export const locale = ref<Locale>(initial())

export function setLocale(l: Locale): void {
  locale.value = l
  try {
    localStorage.setItem(STORAGE_KEY, l)
  } catch {
    /* ignore */
  }
  if (typeof document !== 'undefined') document.documentElement.lang = l
}

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
