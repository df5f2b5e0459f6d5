// Typed API client generated from openapi.json (openapi-typescript + openapi-fetch).
import createClient, { type Middleware } from 'openapi-fetch'
import type { paths } from '../../api/schema'
import { getToken } from '../session'

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: { field: string; message: string }[] = [],
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

/** Thrown when the network is unreachable (offline, DNS, server down). */
export class NetworkError extends Error {
  constructor(cause?: unknown) {
    super('network unavailable', { cause })
    this.name = 'NetworkError'
  }
}

export function toApiError(status: number, body: unknown): ApiError {
  const err = (body as { error?: { code?: string; message?: string; details?: { field: string; message: string }[] } } | null)?.error
  if (err && typeof err.message === 'string') return new ApiError(status, err.code ?? 'error', err.message, err.details ?? [])
  const detail = (body as { detail?: unknown } | null)?.detail
  return new ApiError(status, 'http_' + status, typeof detail === 'string' ? detail : `HTTP ${status}`)
}

const unauthorizedListeners = new Set<() => void>()
export function onUnauthorized(fn: () => void): () => void {
  unauthorizedListeners.add(fn)
  return () => unauthorizedListeners.delete(fn)
}
export function notifyUnauthorized(): void {
  for (const fn of unauthorizedListeners) fn()
}

const auth: Middleware = {
  onRequest({ request }) {
    const t = getToken()
    if (t) request.headers.set('Authorization', `Bearer ${t}`)
    return request
  },
  onResponse({ response, request }) {
    if (response.status === 401 && !request.url.includes('/auth/')) notifyUnauthorized()
    return response
  },
}

export const api = createClient<paths>({
  // Same origin as the app (absolute so that it also works outside a browser, e.g. in unit tests).
  baseUrl: typeof location !== 'undefined' ? location.origin : 'http://localhost',
  fetch: async (req: Request) => {
    try {
      return await globalThis.fetch(req)
    } catch (e) {
      throw new NetworkError(e)
    }
  },
})
api.use(auth)

/** Unwraps an openapi-fetch result: returns data or throws ApiError. */
export function unwrap<T>(r: { data?: T; error?: unknown; response: Response }): T {
  if (r.response.ok) return r.data as T
  throw toApiError(r.response.status, r.error)
}
