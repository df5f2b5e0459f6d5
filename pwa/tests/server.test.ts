import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { IDBFactory } from 'fake-indexeddb'

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

async function load() {
  vi.resetModules()
  const server = await import('../src/volunteer/offline/server')
  const db = await import('../src/volunteer/offline/db')
  return { server, db }
}

describe('offline/server: the one place deciding online vs device', () => {
  beforeEach(() => {
    globalThis.indexedDB = new IDBFactory()
  })
  afterEach(async () => {
    vi.unstubAllGlobals()
    const db = await import('../src/volunteer/offline/db')
    await db.closeDb()
  })

  it('serves the last calling list from IndexedDB when the network is gone', async () => {
    const { server } = await load()
    const list = { items: [{ id: 't1', contact_id: 'c1', first_name: 'Ana', last_name: 'P', area: 'A', status: 'pending', attempts: 0, callback_at: null, last_outcome: null, assignee_name: null }], next_cursor: null }
    vi.stubGlobal('fetch', vi.fn(async () => json(200, list)))
    const online = await server.listCalls('a1', 'mine')
    expect(online.fromCache).toBe(false)
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))))
    const offline = await server.listCalls('a1', 'mine')
    expect(offline.fromCache).toBe(true)
    expect(offline.data).toEqual(list.items)
    await expect(server.listCalls('other', 'mine')).rejects.toBeInstanceOf(server.NetworkError)
  })

  it('does not hide server errors behind the cache', async () => {
    const { server } = await load()
    vi.stubGlobal('fetch', vi.fn(async () => json(429, { error: { code: 'rate_limited', message: 'Slow down', details: [] } })))
    await expect(server.startCall('t1')).rejects.toMatchObject({ status: 429, message: 'Slow down' })
  })

  it('queues a call report with its client id and counts it as pending until synced', async () => {
    const { server } = await load()
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('offline'))))
    const id = crypto.randomUUID()
    await server.submitCallReport('t1', { id, outcome: 'absent' })
    await server.outbox.sync()
    await server.refreshCounts()
    expect(server.outboxState.pending).toBe(1)
    expect(await server.isReported('t1')).toBe(true)
    const fetch = vi.fn(async () => json(201, { id, target_id: 't1', outcome: 'absent', created_at: 'now' }))
    vi.stubGlobal('fetch', fetch)
    expect((await server.outbox.sync()).sent).toBe(1)
    expect(fetch).toHaveBeenCalledOnce()
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit]
    expect(url).toBe('/api/v1/calls/t1/report')
    const sent = JSON.parse(String(init.body)) as { id: string; outcome: string; recorded_at: string }
    // The phone's time when it was saved travels with the report (it may sync much later).
    expect(sent).toEqual({ id, outcome: 'absent', recorded_at: sent.recorded_at })
    expect(Math.abs(Date.parse(sent.recorded_at) - Date.now())).toBeLessThan(60_000)
    expect(server.outboxState.pending).toBe(0)
  })

  it('wipes every store at logout', async () => {
    const { server, db } = await load()
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('offline'))))
    await server.writeCache('contact:t1', { phones: ['+40700000000'] })
    await server.submitVisit('a1', { id: crypto.randomUUID(), outcome: 'not_home', target_id: 't1' })
    await server.logout()
    expect(await db.count('cache')).toBe(0)
    expect(await db.count('outbox')).toBe(0)
  })
})
