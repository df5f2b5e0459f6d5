import { describe, expect, it } from 'vitest'
import { dictionaries, pickLocale, translate } from '../src/shared/i18n'

const placeholders = (s: string) => [...new Set([...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]))].sort()

describe('i18n', () => {
  const en = dictionaries.en
  for (const [code, dict] of Object.entries(dictionaries)) {
    it(`${code} has every key, no extra key, no empty string, the same placeholders`, () => {
      expect(Object.keys(dict).sort()).toEqual(Object.keys(en).sort())
      for (const [key, value] of Object.entries(dict)) {
        expect(value.trim(), `${code}:${key}`).not.toBe('')
        expect(placeholders(value), `${code}:${key}`).toEqual(placeholders(en[key as keyof typeof en]))
      }
    })
  }
  it('picks the locale from the browser languages', () => {
    expect(pickLocale(['fr-FR', 'en'])).toBe('fr')
    expect(pickLocale(['ro-RO'])).toBe('ro')
    expect(pickLocale(['de-DE', 'en-GB'])).toBe('en')
    expect(pickLocale(['de'])).toBe('en')
  })
  it('interpolates parameters', () => {
    expect(translate('en', 'app.pending', { n: 2 })).toBe('2 pending')
    expect(translate('fr', 'app.pending', { n: 2 })).toBe('2 en attente')
  })
  it('chooses plural forms by the language rules', () => {
    expect(translate('en', 'calls.attempts', { n: 1 })).toBe('1 attempt')
    expect(translate('en', 'walk.households', { n: 2 })).toBe('2 households')
    expect(translate('fr', 'calls.attempts', { n: 1 })).toBe('1 tentative')
    expect(translate('fr', 'calls.attempts', { n: 3 })).toBe('3 tentatives')
    expect(translate('ro', 'calls.attempts', { n: 1 })).toBe('1 încercare')
    expect(translate('ro', 'calls.attempts', { n: 2 })).toBe('2 încercări')
    expect(translate('ro', 'calls.attempts', { n: 20 })).toBe('20 de încercări')
  })
})
