// App-wide UI state: the snackbar queue and the offline flag.
import { reactive, ref } from 'vue'

export interface Snack {
  id: number
  text: string
  action?: { label: string; run: () => void }
  /** ms; 0 = stays until dismissed */
  timeout: number
}

export const snackbar = reactive<{ current: Snack | null; queue: Snack[] }>({ current: null, queue: [] })
let seq = 0
let timer: ReturnType<typeof setTimeout> | null = null

function showNext(): void {
  if (snackbar.current || snackbar.queue.length === 0) return
  const next = snackbar.queue.shift()!
  snackbar.current = next
  if (next.timeout > 0) timer = setTimeout(() => dismissSnack(next.id), next.timeout)
}

export function showSnack(text: string, opts: { action?: Snack['action']; timeout?: number } = {}): number {
  const s: Snack = { id: ++seq, text, action: opts.action, timeout: opts.timeout ?? (opts.action ? 0 : 4000) }
  snackbar.queue.push(s)
  showNext()
  return s.id
}

export function dismissSnack(id?: number): void {
  if (id !== undefined && snackbar.current?.id !== id) {
    snackbar.queue = snackbar.queue.filter((s) => s.id !== id)
    return
  }
  if (timer) clearTimeout(timer)
  timer = null
  snackbar.current = null
  setTimeout(showNext, 200)
}

export const online = ref(typeof navigator === 'undefined' ? true : navigator.onLine)
if (typeof window !== 'undefined') {
  window.addEventListener('online', () => (online.value = true))
  window.addEventListener('offline', () => (online.value = false))
}
