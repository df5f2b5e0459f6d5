// A count that follows a filter as it changes: debounced, each new request aborting the stale one.
import { ref, watch, type Ref } from 'vue'
import { api, errorText, isAbort, unwrap } from '../api'
import { cleanFilter, type Filter } from '../types'
import { latest } from '@shared/api/latest'

type ActionType = 'call' | 'door_to_door' | 'petition' | 'event' | 'leafleting' | 'digital'

export function useLiveCount(filter: Ref<Filter>, opts: { delay?: number; preview?: () => ActionType | null } = {}) {
  const count = ref<number | null>(null)
  const loading = ref(false)
  const error = ref('')
  let timer: ReturnType<typeof setTimeout> | undefined
  const inflight = latest()

  async function run(): Promise<void> {
    const ctl = inflight.start()
    loading.value = true
    try {
      const body = { filter: cleanFilter(filter.value) }
      const type = opts.preview?.()
      const n = type
        ? unwrap(await api.POST('/api/v1/actions/preview', { body: { ...body, type, sample_size: 0 }, signal: ctl.signal })).count
        : unwrap(await api.POST('/api/v1/contacts/count', { body, signal: ctl.signal })).count
      if (!inflight.current(ctl)) return // a newer count started meanwhile: its answer is the one to show
      count.value = n
      error.value = ''
    } catch (e) {
      if (ctl.signal.aborted || isAbort(e)) return
      error.value = errorText(e)
    } finally {
      if (inflight.current(ctl)) loading.value = false
    }
  }
  watch(
    filter,
    () => {
      clearTimeout(timer)
      loading.value = true
      timer = setTimeout(() => void run(), opts.delay ?? 300)
    },
    { deep: true, immediate: true },
  )
  return { count, loading, error, refresh: run }
}
