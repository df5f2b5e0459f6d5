// The outbox: writes made in the field (call reports, visits, new contacts, attendance) are stored
// in IndexedDB first, then replayed to the server until acknowledged. Each item carries a client
// UUID, the body's `id`: the server's one idempotency mechanism (the same id with the same body returns the first
// response), so a replay after a lost response is safe. No Idempotency-Key header is sent (see pwa/README.md).
//  - 2xx            → acknowledged, removed
//  - 409            → conflict (same id, different body): kept, surfaced, never retried automatically
//  - other 4xx      → failed: kept, surfaced, retried only on request
//  - 401            → sync stops until the volunteer signs in again (nothing is dropped)
//  - 5xx/429/network → stays pending, retried on the next run (soon: the Retry-After, or a backoff: sync.ts)
import { retryAfterMs } from '@shared/api/retry'
import { count, del, get, getAll, put } from './db'

export type OutboxKind = 'call_report' | 'visit' | 'participation' | 'correction' | 'p2p_text'
export type OutboxStatus = 'pending' | 'conflict' | 'failed'

export interface OutboxItem {
  id: string
  seq: number
  kind: OutboxKind
  method: 'POST' | 'PUT' | 'PATCH'
  path: string
  body: unknown
  /** Who it is about (the contact's name), shown in the queue. */
  label?: string
  status: OutboxStatus
  attempts: number
  created_at: string
  last_status?: number
  last_error?: string
}

export interface SyncResult {
  sent: number
  conflicts: number
  failed: number
  remaining: number
  stoppedBy?: 'network' | 'unauthorized' | 'server'
  /** The server's Retry-After (a 503 or 429 says when to come back), in milliseconds, when it sent one. */
  retryAfterMs?: number
}

export interface OutboxOptions {
  fetch?: typeof fetch
  baseUrl?: string
  getToken?: () => string | null
  onChange?: () => void
  onUnauthorized?: () => void
}

export interface EnqueueInput {
  id?: string
  kind: OutboxKind
  method?: OutboxItem['method']
  path: string
  body: unknown
  label?: string
}

let lastSeq = 0
function nextSeq(): number {
  lastSeq = Math.max(lastSeq + 1, Date.now() * 1000)
  return lastSeq
}

function errorMessage(status: number, body: unknown): string {
  const e = (body as { error?: { message?: unknown } } | null)?.error
  if (e && typeof e.message === 'string') return e.message
  return `HTTP ${status}`
}

export function createOutbox(opts: OutboxOptions = {}) {
  const doFetch = opts.fetch ?? ((...a: Parameters<typeof fetch>) => globalThis.fetch(...a))
  const baseUrl = opts.baseUrl ?? ''
  let running: Promise<SyncResult> | null = null
  const listeners = new Set<() => void>()
  if (opts.onChange) listeners.add(opts.onChange)
  const changed = () => listeners.forEach((fn) => fn())

  async function enqueue(input: EnqueueInput): Promise<OutboxItem> {
    const id = input.id ?? crypto.randomUUID()
    const existing = await get<OutboxItem>('outbox', id)
    if (existing) return existing // double tap: the same record is queued once
    const item: OutboxItem = {
      id,
      seq: nextSeq(),
      kind: input.kind,
      method: input.method ?? 'POST',
      path: input.path,
      body: input.body,
      ...(input.label ? { label: input.label } : {}),
      status: 'pending',
      attempts: 0,
      created_at: new Date().toISOString(),
    }
    await put('outbox', item)
    changed()
    return item
  }

  async function list(): Promise<OutboxItem[]> {
    return getAll<OutboxItem>('outbox', 'seq')
  }

  async function counts(): Promise<{ pending: number; problems: number; total: number }> {
    const items = await list()
    const pending = items.filter((i) => i.status === 'pending').length
    return { pending, problems: items.length - pending, total: items.length }
  }

  type Sent = 'ok' | 'conflict' | 'failed' | 'network' | 'unauthorized' | { retryAfterMs: number | undefined }

  /** One item sent; a server that is busy or down answers `{ retryAfterMs }`, from its Retry-After if it gave one. */
  async function sendOne(item: OutboxItem): Promise<Sent> {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' }
    const token = opts.getToken?.()
    if (token) headers.Authorization = `Bearer ${token}`
    let res: Response
    try {
      res = await doFetch(baseUrl + item.path, { method: item.method, headers, body: JSON.stringify(item.body) })
    } catch {
      return 'network'
    }
    if (res.ok) {
      await del('outbox', item.id)
      return 'ok'
    }
    let body: unknown = null
    try {
      body = await res.json()
    } catch {
      /* not JSON */
    }
    const updated: OutboxItem = { ...item, attempts: item.attempts + 1, last_status: res.status, last_error: errorMessage(res.status, body) }
    if (res.status === 401) return 'unauthorized'
    if (res.status === 409) {
      await put('outbox', { ...updated, status: 'conflict' })
      return 'conflict'
    }
    if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 425 && res.status !== 429) {
      await put('outbox', { ...updated, status: 'failed' })
      return 'failed'
    }
    await put('outbox', updated)
    return { retryAfterMs: retryAfterMs(res.headers.get('Retry-After')) }
  }

  async function runSync(): Promise<SyncResult> {
    const result: SyncResult = { sent: 0, conflicts: 0, failed: 0, remaining: 0 }
    const items = (await list()).filter((i) => i.status === 'pending')
    for (const item of items) {
      const fresh = await get<OutboxItem>('outbox', item.id)
      if (!fresh || fresh.status !== 'pending') continue
      const r = await sendOne(fresh)
      if (r === 'ok') result.sent++
      else if (r === 'conflict') result.conflicts++
      else if (r === 'failed') result.failed++
      else {
        result.stoppedBy = r === 'network' ? 'network' : r === 'unauthorized' ? 'unauthorized' : 'server'
        if (typeof r === 'object' && r.retryAfterMs !== undefined) result.retryAfterMs = r.retryAfterMs
        if (r === 'unauthorized') opts.onUnauthorized?.()
        break
      }
      changed()
    }
    result.remaining = (await counts()).pending
    changed()
    return result
  }

  /** Replays pending items in order. Concurrent calls share one run (and one run per browser via Web Locks). */
  function sync(): Promise<SyncResult> {
    if (running) return running
    const locks = (globalThis.navigator as Navigator | undefined)?.locks
    const go = locks ? () => locks.request('gg-outbox-sync', runSync) as unknown as Promise<SyncResult> : runSync
    const p = go().finally(() => {
      running = null
    })
    running = p
    return p
  }

  async function retry(id: string): Promise<void> {
    const item = await get<OutboxItem>('outbox', id)
    if (item) await put('outbox', { ...item, status: 'pending' })
    changed()
  }

  async function discard(id: string): Promise<void> {
    await del('outbox', id)
    changed()
  }

  function subscribe(fn: () => void): () => void {
    listeners.add(fn)
    return () => listeners.delete(fn)
  }

  return { enqueue, list, counts, sync, retry, discard, subscribe, size: () => count('outbox') }
}

export type Outbox = ReturnType<typeof createOutbox>
