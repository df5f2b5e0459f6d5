// App-wide UI state: the snackbar queue and the offline flag.
import { reactive, ref, shallowRef } from 'vue'

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

// Installing the app: Android's prompt (beforeinstallprompt, kept until the volunteer asks), iOS instructions.
interface InstallPromptEvent extends Event {
  prompt: () => Promise<void>
}
export const installPrompt = shallowRef<InstallPromptEvent | null>(null)
if (typeof window !== 'undefined') {
  window.addEventListener('beforeinstallprompt', (e) => {
    e.preventDefault()
    installPrompt.value = e as InstallPromptEvent
  })
  window.addEventListener('appinstalled', () => (installPrompt.value = null))
}
export function isIosBrowser(): boolean {
  if (typeof navigator === 'undefined') return false
  const standalone = (navigator as Navigator & { standalone?: boolean }).standalone === true || matchMedia('(display-mode: standalone)').matches
  return /iPhone|iPad|iPod/.test(navigator.userAgent) && !standalone
}
export async function install(): Promise<void> {
  const e = installPrompt.value
  if (!e) return
  installPrompt.value = null
  await e.prompt()
}
