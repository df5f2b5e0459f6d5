import { ref, shallowRef, type Ref } from 'vue'
import { t } from '@shared/i18n'
import { ApiError, NetworkError, type Loaded } from '../offline/server'

export function errorText(e: unknown): string {
  if (e instanceof NetworkError) return t('app.offlineUnavailable')
  if (e instanceof ApiError) return e.message
  return t('app.error')
}

/** Loads screen data through offline/server; exposes loading, error and "shown from cache" state. */
export function useLoad<T>(fn: () => Promise<Loaded<T>>) {
  const data = shallowRef<T | null>(null) as Ref<T | null>
  const loading = ref(true)
  const error = ref<string | null>(null)
  const savedAt = ref<string | null>(null)
  async function reload(): Promise<void> {
    loading.value = true
    error.value = null
    try {
      const r = await fn()
      data.value = r.data
      savedAt.value = r.fromCache ? (r.savedAt ?? '') : null
    } catch (e) {
      error.value = errorText(e)
    } finally {
      loading.value = false
    }
  }
  void reload()
  return { data, loading, error, savedAt, reload }
}
