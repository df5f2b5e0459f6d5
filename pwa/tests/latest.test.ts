import { describe, expect, it } from 'vitest'
import { latest } from '@shared/api/latest'

describe('one request at a time for a view', () => {
  it('aborts the older request when a newer one starts', () => {
    const req = latest()
    const first = req.start()
    const second = req.start()
    expect(first.signal.aborted).toBe(true)
    expect(second.signal.aborted).toBe(false)
  })

  it('shows nothing after the view stops', () => {
    const req = latest()
    const ctl = req.start()
    req.stop()
    expect(ctl.signal.aborted).toBe(true)
    expect(req.current(ctl)).toBe(false)
  })

  it('drops an older answer that arrives after the newer one', async () => {
    const req = latest()
    const shown: string[] = []
    let releaseOld: (v: string) => void = () => undefined
    async function load(answer: Promise<string>): Promise<void> {
      const ctl = req.start()
      const got = await answer // a fetch whose body was read before the abort still resolves
      if (req.current(ctl)) shown.push(got)
    }
    const old = load(new Promise((resolve) => (releaseOld = resolve)))
    await load(Promise.resolve('filter B: 7 targets'))
    releaseOld('filter A: 10 targets')
    await old
    expect(shown).toEqual(['filter B: 7 targets'])
  })
})
