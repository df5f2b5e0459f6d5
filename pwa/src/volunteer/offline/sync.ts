// Background replay of the outbox: at app start, on the `online` event, when the app comes back
// to the foreground, and every 30 seconds. Background Sync is not relied upon.
import { getToken } from '@shared/session'
import { outbox, refreshCounts } from './server'

export const SYNC_INTERVAL_MS = 30_000
let timer: ReturnType<typeof setInterval> | null = null

export function syncNow(): void {
  if (!getToken()) return
  if (typeof navigator !== 'undefined' && navigator.onLine === false) return
  void outbox.sync().catch(() => undefined)
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
    timer = null
  }
}
