// HQ's calls to the API: the shared typed client, errors turned into what the user reads.
import { reactive } from 'vue'
import { ApiError, NetworkError, api, toApiError, unwrap } from '@shared/api/client'
import { allPages } from '@shared/api/pages'
import { ht } from './i18n'

export { api, unwrap, ApiError, NetworkError } from '@shared/api/client'
export { allPages } from '@shared/api/pages'
export const toApiErrorFrom = toApiError

/** One sentence for any failure: a lost connection, a server error, or the API's own message. */
export function errorText(e: unknown): string {
  if (e instanceof NetworkError) return ht('error.network')
  if (e instanceof DOMException && e.name === 'AbortError') return ''
  if (e instanceof ApiError) {
    if (e.status >= 500) return ht('error.server')
    if (e.status === 403) return ht('error.forbidden')
    return e.message
  }
  return ht('error.server')
}

export function isAbort(e: unknown): boolean {
  return (e instanceof DOMException && e.name === 'AbortError') || (e instanceof NetworkError && (e.cause as Error | undefined)?.name === 'AbortError')
}

/**
 * A form's errors: the API's 422 details keyed by the field they name (shown next to that field),
 * and one general message (what no field claims, a server error, a lost connection).
 */
export function useFormErrors() {
  const state = reactive<{ fields: Record<string, string>; general: string }>({ fields: {}, general: '' })
  function clear(): void {
    state.fields = {}
    state.general = ''
  }
  function set(e: unknown, known: string[] = []): void {
    clear()
    if (e instanceof ApiError && e.details.length && e.status < 500) {
      const rest: string[] = []
      for (const d of e.details) {
        const field = d.field.replace(/^body\./, '')
        const match = known.find((k) => field === k || field.startsWith(k + '.'))
        if (match || known.length === 0) state.fields[match ?? field] = d.message
        else rest.push(`${field}: ${d.message}`)
      }
      state.general = rest.length ? `${e.message} ${rest.join('; ')}` : ''
      if (known.length && Object.keys(state.fields).length === 0 && !state.general) state.general = e.message
    } else {
      state.general = errorText(e)
    }
  }
  /** For `:error-messages`: the message for a field or an empty list. */
  function of(field: string): string[] {
    const m = state.fields[field]
    return m ? [m] : []
  }
  return { state, set, clear, of }
}

/** Every zone (the list pages with a cursor; a picker or a map needs them all). */
export function allZones(withGeometry = false) {
  return allPages(async (cursor) => unwrap(await api.GET('/api/v1/zones', { params: { query: { with_geometry: withGeometry, limit: 500, cursor } } })))
}
