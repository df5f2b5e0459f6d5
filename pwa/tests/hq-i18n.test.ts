import { describe, expect, it } from 'vitest'
import { setLocale } from '../src/shared/i18n/locale'
import { en } from '../src/hq/i18n/en'
import { hn, hqDictionaries } from '../src/hq/i18n'

describe('HQ catalogues', () => {
  it('fr and ro define every English key with the same placeholders', () => {
    const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(',')
    for (const [code, dict] of Object.entries(hqDictionaries)) {
      expect(Object.keys(dict).sort(), code).toEqual(Object.keys(en).sort())
      for (const k of Object.keys(en) as (keyof typeof en)[]) {
        const forms = dict[k].split('|')
        for (const f of forms) expect(placeholders(f) === placeholders(en[k].split('|')[0]!) || f.includes('{n}'), `${code} ${k}`).toBe(true)
      }
    }
  })

  it('plurals follow each language: Romanian says 1 contact, 2 contacte, 20 de contacte', () => {
    setLocale('ro')
    expect([1, 2, 19, 20, 101, 120].map((n) => hn('contacts.count', n))).toEqual(['1 contact', '2 contacte', '19 contacte', '20 de contacte', '101 contacte', '120 de contacte'])
    setLocale('fr')
    expect([0, 1, 2].map((n) => hn('contacts.count', n))).toEqual(['0 contact', '1 contact', '2 contacts'])
    setLocale('en')
    expect([0, 1, 2, 1000].map((n) => hn('contacts.count', n))).toEqual(['0 contacts', '1 contact', '2 contacts', '1,000 contacts'])
  })
})
