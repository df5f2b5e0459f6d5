import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { IDBFactory } from 'fake-indexeddb'

type Handler = (url: string, init: RequestInit) => Response | Promise<Response>

function json(status: number, body: unknown): Response {
  return new Response(body === null ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

/** A fake server that is idempotent on the client id, like the real one. */
function idempotentServer() {
  const stored = new Map<string, string>()
  const calls: { url: string; body: string; headers: Headers }[] = []
  const handler: Handler = (url, init) => {
    const body = String(init.body)
    calls.push({ url, body, headers: new Headers(init.headers) })
    const id = (JSON.parse(body) as { id: string }).id
    const prev = stored.get(id)
    if (prev !== undefined && prev !== body) return json(409, { error: { code: 'idempotency_conflict', message: 'Different body for the same id', details: [] } })
    const status = prev === undefined ? 201 : 200
    stored.set(id, body)
    return json(status, { id, outcome: 'answered' })
  }
  return { stored, calls, handler }
}

async function freshModules() {
  vi.resetModules()
  const db = await import('../src/volunteer/offline/db')
  const { createOutbox } = await import('../src/volunteer/offline/outbox')
  return { db, createOutbox }
}

describe('outbox', () => {
  beforeEach(() => {
    globalThis.indexedDB = new IDBFactory()
  })
  afterEach(async () => {
    const db = await import('../src/volunteer/offline/db')
    await db.closeDb()
  })

  it('enqueues with a client UUID and keeps the item until synced', async () => {
    const { createOutbox } = await freshModules()
    const box = createOutbox({ fetch: vi.fn() })
    const item = await box.enqueue({ kind: 'call_report', path: '/api/v1/calls/t1/report', body: { id: 'ignored', outcome: 'absent' } })
    expect(item.id).toMatch(/^[0-9a-f-]{36}$/)
    expect((await box.counts()).pending).toBe(1)
    const same = await box.enqueue({ id: item.id, kind: 'call_report', path: '/x', body: {} })
    expect(same.seq).toBe(item.seq)
    expect((await box.counts()).total).toBe(1)
  })

  it('sends each item exactly once, even with concurrent sync calls', async () => {
    const { createOutbox } = await freshModules()
    const server = idempotentServer()
    const fetch = vi.fn(async (url: string, init: RequestInit) => server.handler(url, init))
    const box = createOutbox({ fetch: fetch as unknown as typeof globalThis.fetch, getToken: () => 'tok' })
    const id1 = crypto.randomUUID()
    const id2 = crypto.randomUUID()
    await box.enqueue({ id: id1, kind: 'call_report', path: '/api/v1/calls/a/report', body: { id: id1, outcome: 'absent' } })
    await box.enqueue({ id: id2, kind: 'visit', path: '/api/v1/actions/b/visits', body: { id: id2, outcome: 'not_home' } })
    const [r1, r2] = await Promise.all([box.sync(), box.sync()])
    expect(r1).toBe(r2)
    expect(r1.sent).toBe(2)
    expect(fetch).toHaveBeenCalledTimes(2)
    expect(server.calls.map((c) => c.url)).toEqual(['/api/v1/calls/a/report', '/api/v1/actions/b/visits'])
    expect(server.calls[0]!.headers.get('Authorization')).toBe('Bearer tok')
    // One idempotency mechanism: the body's id. No Idempotency-Key header the server would ignore.
    expect(server.calls[0]!.headers.get('Idempotency-Key')).toBeNull()
    expect(JSON.parse(String(server.calls[0]!.body)).id).toBe(id1)
    await box.sync()
    expect(fetch).toHaveBeenCalledTimes(2)
    expect((await box.counts()).total).toBe(0)
  })

  it('keeps items when offline and sends them when the network is back', async () => {
    const { createOutbox } = await freshModules()
    const server = idempotentServer()
    let online = false
    const fetch = vi.fn(async (url: string, init: RequestInit) => {
      if (!online) throw new TypeError('Failed to fetch')
      return server.handler(url, init)
    })
    const box = createOutbox({ fetch: fetch as unknown as typeof globalThis.fetch })
    const id = crypto.randomUUID()
    await box.enqueue({ id, kind: 'call_report', path: '/r', body: { id, outcome: 'answered' } })
    const r = await box.sync()
    expect(r.stoppedBy).toBe('network')
    expect(r.remaining).toBe(1)
    online = true
    expect((await box.sync()).sent).toBe(1)
    expect(server.stored.size).toBe(1)
  })

  it('surfaces a 409 as a conflict and does not retry it', async () => {
    const { createOutbox } = await freshModules()
    const server = idempotentServer()
    const id = crypto.randomUUID()
    server.stored.set(id, JSON.stringify({ id, outcome: 'refused' }))
    const fetch = vi.fn(async (url: string, init: RequestInit) => server.handler(url, init))
    const box = createOutbox({ fetch: fetch as unknown as typeof globalThis.fetch })
    await box.enqueue({ id, kind: 'call_report', path: '/r', body: { id, outcome: 'answered' } })
    const r = await box.sync()
    expect(r.conflicts).toBe(1)
    const [item] = await box.list()
    expect(item?.status).toBe('conflict')
    expect(item?.last_error).toBe('Different body for the same id')
    await box.sync()
    await box.sync()
    expect(fetch).toHaveBeenCalledTimes(1)
    expect(await box.counts()).toEqual({ pending: 0, problems: 1, total: 1 })
    await box.discard(id)
    expect((await box.counts()).total).toBe(0)
  })

  it('retries after a 5xx and stops on 401 without losing anything', async () => {
    const { createOutbox } = await freshModules()
    const responses = [json(503, null), json(401, null), json(201, {})]
    const fetch = vi.fn(async () => responses.shift()!)
    const onUnauthorized = vi.fn()
    const box = createOutbox({ fetch: fetch as unknown as typeof globalThis.fetch, onUnauthorized })
    const id = crypto.randomUUID()
    await box.enqueue({ id, kind: 'visit', path: '/v', body: { id } })
    expect((await box.sync()).stoppedBy).toBe('server')
    expect((await box.sync()).stoppedBy).toBe('unauthorized')
    expect(onUnauthorized).toHaveBeenCalledOnce()
    expect((await box.counts()).pending).toBe(1)
    expect((await box.sync()).sent).toBe(1)
  })

  it("keeps the server's Retry-After of a 503 for the sync loop, and none when it sent none", async () => {
    const { createOutbox } = await freshModules()
    const busy = () => new Response(null, { status: 503, headers: { 'Retry-After': '2' } })
    const responses = [busy(), json(503, null), json(201, {})]
    const fetch = vi.fn(async () => responses.shift()!)
    const box = createOutbox({ fetch: fetch as unknown as typeof globalThis.fetch })
    const id = crypto.randomUUID()
    await box.enqueue({ id, kind: 'call_report', path: '/r', body: { id } })
    const first = await box.sync()
    expect(first).toMatchObject({ stoppedBy: 'server', retryAfterMs: 2000, remaining: 1 })
    const second = await box.sync()
    expect(second.stoppedBy).toBe('server')
    expect(second.retryAfterMs).toBeUndefined()
    expect((await box.sync()).sent).toBe(1)
  })

  it('reads Retry-After as seconds or as an HTTP date', async () => {
    const { retryAfterMs } = await import('../src/shared/api/retry')
    expect(retryAfterMs('3')).toBe(3000)
    const now = Date.parse('2026-12-01T18:00:00Z')
    expect(retryAfterMs('Tue, 01 Dec 2026 18:00:05 GMT', now)).toBe(5000)
    expect(retryAfterMs('soon')).toBeUndefined()
    expect(retryAfterMs(null)).toBeUndefined()
  })

  it('tries again soon after a run the server or the network cut short, backing off up to the timer', async () => {
    const { nextRetry, FIRST_RETRY_MS, SYNC_INTERVAL_MS } = await import('../src/volunteer/offline/sync')
    const cut = { sent: 0, conflicts: 0, failed: 0, remaining: 1 }
    expect(nextRetry({ ...cut, stoppedBy: 'server', retryAfterMs: 1000 }, 0)).toEqual({ inMs: 1000, backoffMs: FIRST_RETRY_MS })
    let backoff = 0
    const waits: number[] = []
    for (let i = 0; i < 6; i++) {
      const next = nextRetry({ ...cut, stoppedBy: 'network' }, backoff)
      waits.push(next.inMs!)
      backoff = next.backoffMs
    }
    expect(waits).toEqual([2000, 4000, 8000, 16000, SYNC_INTERVAL_MS, SYNC_INTERVAL_MS])
    expect(nextRetry({ ...cut, remaining: 0 }, backoff)).toEqual({ inMs: null, backoffMs: 0 })
    expect(nextRetry({ ...cut, stoppedBy: 'unauthorized' }, backoff).inMs).toBeNull()
  })

  it('survives a reload: a new module instance over the same IndexedDB sends what was queued', async () => {
    const first = await freshModules()
    const box1 = first.createOutbox({ fetch: vi.fn() })
    const id = crypto.randomUUID()
    await box1.enqueue({ id, kind: 'call_report', path: '/api/v1/calls/t/report', body: { id, outcome: 'absent' } })
    await first.db.closeDb()

    const second = await freshModules()
    const server = idempotentServer()
    const fetch = vi.fn(async (url: string, init: RequestInit) => server.handler(url, init))
    const box2 = second.createOutbox({ fetch: fetch as unknown as typeof globalThis.fetch })
    expect((await box2.counts()).pending).toBe(1)
    expect((await box2.sync()).sent).toBe(1)
    expect(JSON.parse([...server.stored.values()][0]!)).toEqual({ id, outcome: 'absent' })
    await second.db.closeDb()
  })

  it('replaying after a lost response is safe (server answers the same)', async () => {
    const { createOutbox } = await freshModules()
    const server = idempotentServer()
    let dropResponse = true
    const fetch = vi.fn(async (url: string, init: RequestInit) => {
      const res = await server.handler(url, init)
      if (dropResponse) {
        dropResponse = false
        throw new TypeError('connection reset')
      }
      return res
    })
    const box = createOutbox({ fetch: fetch as unknown as typeof globalThis.fetch })
    const id = crypto.randomUUID()
    await box.enqueue({ id, kind: 'call_report', path: '/r', body: { id, outcome: 'answered' } })
    await box.sync()
    expect((await box.sync()).sent).toBe(1)
    expect(fetch).toHaveBeenCalledTimes(2)
    expect(server.stored.size).toBe(1)
  })
})
