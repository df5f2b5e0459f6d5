import { afterEach, describe, expect, it, vi } from 'vitest'

function res(status: number, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(status === 200 ? [] : { error: { code: 'unavailable', message: 'Busy', details: [] } }), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  })
}

describe('shared API client: a read that meets a 503 is tried again', () => {
  afterEach(() => {
    vi.unstubAllGlobals()
    vi.useRealTimers()
  })

  it('repeats a GET after Retry-After and returns the answer that came', async () => {
    vi.useFakeTimers()
    const fetch = vi.fn().mockResolvedValueOnce(res(503, { 'Retry-After': '1' })).mockResolvedValueOnce(res(200))
    vi.stubGlobal('fetch', fetch)
    vi.resetModules()
    const { api } = await import('../src/shared/api/client')
    const pending = api.GET('/api/v1/surveys')
    await vi.advanceTimersByTimeAsync(1000)
    const r = await pending
    expect(r.response.status).toBe(200)
    expect(fetch).toHaveBeenCalledTimes(2)
  })

  it('gives up after three tries, and never repeats a write', async () => {
    vi.useFakeTimers()
    const fetch = vi.fn(async () => res(503, { 'Retry-After': '0' }))
    vi.stubGlobal('fetch', fetch)
    vi.resetModules()
    const { api } = await import('../src/shared/api/client')
    const read = api.GET('/api/v1/surveys')
    await vi.advanceTimersByTimeAsync(5000)
    expect((await read).response.status).toBe(503)
    expect(fetch).toHaveBeenCalledTimes(3)
    fetch.mockClear()
    const write = await api.POST('/api/v1/teams', { body: { name: 'Nord' } as never })
    expect(write.response.status).toBe(503)
    expect(fetch).toHaveBeenCalledTimes(1)
  })
})
