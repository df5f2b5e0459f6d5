// Typed API client generated from openapi.json (openapi-typescript + openapi-fetch).
import createClient, { type Middleware } from 'openapi-fetch'
import type { paths } from '../../api/schema'
import { getToken } from '../session'
import { retryAfterMs } from './retry'

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

/**
 * A read (GET) that meets a 503 is tried again after the server's `Retry-After` (capped at 3 s, twice at most):
 * the API answers 503 while its pool is full or during a failover, and a read is safe to repeat.
 * Writes are never repeated here: the outbox and the forms own that decision.
 */
async function fetchWithRetry(req: Request): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    let res: Response
    try {
      res = await globalThis.fetch(attempt < 2 && req.method === 'GET' ? req.clone() : req)
    } catch (e) {
      throw new NetworkError(e)
    }
    if (res.status !== 503 || req.method !== 'GET' || attempt >= 2) return res
    const wait = Math.min(retryAfterMs(res.headers.get('Retry-After')) ?? 1000, 3000)
    await new Promise((r) => setTimeout(r, wait))
  }
}

export const api = createClient<paths>({
  // Same origin as the app (absolute so that it also works outside a browser, e.g. in unit tests).
  baseUrl: typeof location !== 'undefined' ? location.origin : 'http://localhost',
  fetch: fetchWithRetry,
})
api.use(auth)

/** Unwraps an openapi-fetch result: returns data or throws ApiError. */
export function unwrap<T>(r: { data?: T; error?: unknown; response: Response }): T {
  if (r.response.ok) return r.data as T
  throw toApiError(r.response.status, r.error)
}
