// Figures that follow the live stream: loaded once, then reloaded (throttled, in place) when an event the
// viewer's figures count arrives. The period and the scope are the caller's; the stream is shared by the tab.
import { onBeforeUnmount, ref, shallowRef, watch, type Ref, type WatchSource } from 'vue'
import { onLive, throttle, type LiveEvent } from '@shared/live'
import { errorText, isAbort } from '../api'
import { latest } from '@shared/api/latest'

export function useLiveData<T>(
  load: (signal: AbortSignal) => Promise<T>,
  opts: { deps: WatchSource[]; relevant: (ev: LiveEvent) => boolean; ms?: number },
): { data: Ref<T | null>; error: Ref<string>; loading: Ref<boolean>; reload: () => void; updates: Ref<number> } {
  const data = shallowRef<T | null>(null) as Ref<T | null>
  const error = ref('')
  const loading = ref(false)
  const updates = ref(0)
  const ctrl = latest()
  async function reload(): Promise<void> {
    const c = ctrl.start()
    loading.value = true
    try {
      const got = await load(c.signal)
      if (!ctrl.current(c)) return // a newer load started meanwhile: its answer is the one to show
      data.value = got
      error.value = ''
    } catch (e) {
      if (!isAbort(e)) error.value = errorText(e)
    } finally {
      if (ctrl.current(c)) loading.value = false
    }
  }
  const soon = throttle(() => {
    updates.value++
    void reload()
  }, opts.ms ?? 400)
  const stop = onLive((ev) => {
    if (opts.relevant(ev)) soon()
  })
  watch(opts.deps, () => void reload(), { immediate: true, deep: true })
  onBeforeUnmount(() => {
    stop()
    ctrl.stop()
  })
  return { data, error, loading, reload: () => void reload(), updates }
}

/** Events that change counted work: reports (calls and visits), opportunities and contacts. */
export const COUNTED = new Set(['report', 'opportunity', 'contact'])
