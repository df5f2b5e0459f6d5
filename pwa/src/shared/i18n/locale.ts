// The chosen locale, shared by the volunteer app and the HQ console (one choice, kept in localStorage).
// No dictionaries here: each app brings its own catalogues.
import { ref } from 'vue'

export type Locale = 'en' | 'fr' | 'ro'
export const LOCALES: { code: Locale; label: string }[] = [
  { code: 'en', label: 'English' },
  { code: 'fr', label: 'Français' },
  { code: 'ro', label: 'Română' },
]
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

