// Background replay of the outbox: at app start, on the `online` event, when the app comes back
// to the foreground, and every 30 seconds; and soon again after a run the server or the network cut short
// (the server's Retry-After, else 2 s doubling up to the 30 s of the timer). Background Sync is not relied upon.
import { getToken } from '@shared/session'
import type { SyncResult } from './outbox'
import { outbox, refreshCounts } from './server'

export const SYNC_INTERVAL_MS = 30_000
export const FIRST_RETRY_MS = 2_000
let timer: ReturnType<typeof setInterval> | null = null
let retryTimer: ReturnType<typeof setTimeout> | null = null
let backoffMs = 0

/** When to try again after a run (null: not before the next event or the timer), and the backoff to keep. */
export function nextRetry(r: SyncResult, previousMs: number): { inMs: number | null; backoffMs: number } {
  if (r.stoppedBy !== 'server' && r.stoppedBy !== 'network') return { inMs: null, backoffMs: 0 }
  const backoff = Math.min(SYNC_INTERVAL_MS, previousMs ? previousMs * 2 : FIRST_RETRY_MS)
  return { inMs: Math.min(SYNC_INTERVAL_MS, r.retryAfterMs ?? backoff), backoffMs: backoff }
}

function afterRun(r: SyncResult): void {
  const next = nextRetry(r, backoffMs)
  backoffMs = next.backoffMs
  if (next.inMs === null || retryTimer) return
  retryTimer = setTimeout(() => {
    retryTimer = null
    syncNow()
  }, next.inMs)
}

export function syncNow(): void {
  if (!getToken()) return
  if (typeof navigator !== 'undefined' && navigator.onLine === false) return
  void outbox.sync().then(afterRun, () => undefined)
}

export function startSyncLoop(): () => void {
  void refreshCounts()
  syncNow()
  const onVisible = () => {
    if (document.visibilityState === 'visible') syncNow()
  }
  window.addEventListener('online', syncNow)
  document.addEventListener('visibilitychange', onVisible)
  timer = setInterval(syncNow, SYNC_INTERVAL_MS)
  return () => {
    window.removeEventListener('online', syncNow)
    document.removeEventListener('visibilitychange', onVisible)
    if (timer) clearInterval(timer)
    if (retryTimer) clearTimeout(retryTimer)
    timer = null
    retryTimer = null
  }
}
