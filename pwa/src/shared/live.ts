// The live stream (GET /api/v1/stream, server-sent events), one EventSource per tab for both apps.
// EventSource cannot send the bearer token, and a token must never be put in a URL: each (re)connection asks
// POST /stream/token for a one-minute ticket and opens `?ticket=…&last_event_id=<last id seen>`, so a dropped
// connection resumes exactly where it stopped. The server's `status` events say whether the stream is live.
import { reactive } from 'vue'
import { getToken } from './session'

export interface LiveEvent {
  type: string
  organization_id?: string
  action_id?: string | null
  user_id?: string | null
  [k: string]: unknown
}
export type LiveHandler = (ev: LiveEvent, id: string | null) => void

/** up: connected and the server says live; down: connection lost or the server's bus is unavailable. */
export const liveState = reactive<{ state: 'idle' | 'connecting' | 'up' | 'down'; reason: string; lastId: string | null }>({
  state: 'idle',
  reason: '',
  lastId: null,
})

const EVENTS = ['report', 'opportunity', 'contact', 'assigned', 'import'] as const
const handlers = new Set<LiveHandler>()
let source: EventSource | null = null
let retryTimer: ReturnType<typeof setTimeout> | null = null
let attempt = 0
let generation = 0
let lingerTimer: ReturnType<typeof setTimeout> | null = null

async function ticket(): Promise<string> {
  const res = await fetch('/api/v1/stream/token', { method: 'POST', headers: { Authorization: `Bearer ${getToken() ?? ''}` } })
  if (!res.ok) throw new Error(`stream ticket: ${res.status}`)
  return ((await res.json()) as { ticket: string }).ticket
}

function dispatch(e: MessageEvent<string>): void {
  if (e.lastEventId) liveState.lastId = e.lastEventId
  let data: LiveEvent
  try {
    data = JSON.parse(e.data) as LiveEvent
  } catch {
    return
  }
  for (const h of [...handlers]) h(data, e.lastEventId || null)
}

function scheduleRetry(): void {
  if (retryTimer || handlers.size === 0) return
  const delay = Math.min(1000 * 2 ** attempt, 15_000)
  attempt++
  retryTimer = setTimeout(() => {
    retryTimer = null
    void open()
  }, delay)
}

async function open(): Promise<void> {
  const gen = ++generation
  source?.close()
  source = null
  if (!getToken() || handlers.size === 0) return
  liveState.state = liveState.state === 'up' ? 'up' : 'connecting'
  let t: string
  try {
    t = await ticket()
  } catch {
    liveState.state = 'down'
    liveState.reason = 'network'
    scheduleRetry()
    return
  }
  if (gen !== generation || handlers.size === 0) return
  const q = new URLSearchParams({ ticket: t })
  if (liveState.lastId) q.set('last_event_id', liveState.lastId)
  const es = new EventSource(`/api/v1/stream?${q.toString()}`)
  source = es
  es.addEventListener('status', (e) => {
    const s = JSON.parse((e as MessageEvent<string>).data) as { live: boolean; reason: string | null }
    liveState.state = s.live ? 'up' : 'down'
    liveState.reason = s.reason ?? ''
    if (s.live) attempt = 0
  })
  for (const name of EVENTS) es.addEventListener(name, dispatch as EventListener)
  es.onerror = () => {
    // The browser would retry with the same (soon expired) ticket: reopen ourselves with a fresh one instead.
    if (gen !== generation) return
    es.close()
    source = null
    liveState.state = 'down'
    liveState.reason = 'network'
    scheduleRetry()
  }
}

/** Listen to the stream while the caller is mounted; the connection opens with the first listener. */
export function onLive(h: LiveHandler): () => void {
  handlers.add(h)
  if (lingerTimer) clearTimeout(lingerTimer)
  lingerTimer = null
  if (!source && !retryTimer && liveState.state !== 'connecting') void open()
  return () => {
    handlers.delete(h)
    // Moving from one live page to the next keeps the connection (and its place in the stream).
    if (handlers.size === 0 && !lingerTimer)
      lingerTimer = setTimeout(() => {
        lingerTimer = null
        if (handlers.size === 0) stopLive()
      }, 5000)
  }
}

export function stopLive(): void {
  generation++
  if (retryTimer) clearTimeout(retryTimer)
  retryTimer = null
  source?.close()
  source = null
  attempt = 0
  liveState.state = 'idle'
}

/** Calls `fn` at most once per `ms`, and once more after the last call (live figures refresh in place). */
export function throttle(fn: () => void, ms: number): () => void {
  let last = 0
  let timer: ReturnType<typeof setTimeout> | null = null
  return () => {
    const wait = last + ms - Date.now()
    if (wait <= 0 && !timer) {
      last = Date.now()
      fn()
      return
    }
    if (!timer)
      timer = setTimeout(() => {
        timer = null
        last = Date.now()
        fn()
      }, Math.max(wait, 0))
  }
}
