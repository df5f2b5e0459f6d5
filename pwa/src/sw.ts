/// <reference lib="webworker" />
// GroundGame service worker (Workbox, injectManifest).
//  - Precaches the app shell (built JS/CSS/HTML/icons) so a repeat visit starts from the cache.
//  - Navigations get the precached index.html (history routing), except server-owned paths.
//  - /api/ is network-only: never answered from the shell precache or any cache (data for offline
//    use lives in IndexedDB, managed by the app, and wiped at logout).
//  - Map tiles: cache-first in a bounded cache (entries + age, purged on quota errors).
//  - Updates wait for the volunteer: the page asks for SKIP_WAITING after "Reload to update".
//  - On the first visit the worker takes control of the open page at once (clients.claim()), so the first loss
//    of signal already finds the app shell and the API kept off the cache.
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching'
import { NavigationRoute, registerRoute } from 'workbox-routing'
import { CacheFirst, NetworkOnly } from 'workbox-strategies'
import { ExpirationPlugin } from 'workbox-expiration'
import { CacheableResponsePlugin } from 'workbox-cacheable-response'
import type { PrecacheEntry } from 'workbox-precaching'

declare const self: ServiceWorkerGlobalScope & { __WB_MANIFEST: (PrecacheEntry | string)[] }

const SERVER_PATHS = [/^\/api\//, /^\/docs/, /^\/redoc/, /^\/openapi/, /^\/healthz/, /^\/readyz/, /^\/metrics/, /^\/hq/, /^\/static\//]

cleanupOutdatedCaches()
precacheAndRoute(self.__WB_MANIFEST.filter((e) => !(typeof e === 'string' ? e : e.url).startsWith('api/')))

registerRoute(({ url }) => url.origin === self.location.origin && url.pathname.startsWith('/api/'), new NetworkOnly(), 'GET')
registerRoute(({ url }) => url.origin === self.location.origin && url.pathname.startsWith('/api/'), new NetworkOnly(), 'POST')

registerRoute(new NavigationRoute(createHandlerBoundToURL('index.html'), { denylist: SERVER_PATHS }))

registerRoute(
  ({ request, url }) => request.destination === 'image' && url.origin !== self.location.origin,
  new CacheFirst({
    cacheName: 'gg-map-tiles',
    plugins: [
      new CacheableResponsePlugin({ statuses: [0, 200] }),
      new ExpirationPlugin({ maxEntries: 200, maxAgeSeconds: 7 * 24 * 3600, purgeOnQuotaError: true }),
    ],
  }),
)

self.addEventListener('activate', (event: ExtendableEvent) => {
  event.waitUntil(self.clients.claim())
})

self.addEventListener('message', (event: ExtendableMessageEvent) => {
  if ((event.data as { type?: string } | null)?.type === 'SKIP_WAITING') void self.skipWaiting()
})

// Web Push (app/push on the server): show what arrives; a tap focuses the app on the notification's page.
interface PushPayload {
  kind?: string
  title?: string
  body?: string
  url?: string
  tag?: string | null
}

self.addEventListener('push', (event: PushEvent) => {
  let data: PushPayload = {}
  try {
    data = (event.data?.json() as PushPayload | undefined) ?? {}
  } catch {
    data = { body: event.data?.text() ?? '' }
  }
  const options: NotificationOptions = {
    body: data.body ?? '',
    icon: '/icons/icon-192.png',
    badge: '/icons/icon-192.png',
    data: { url: data.url ?? '/' },
  }
  if (data.tag) options.tag = data.tag
  event.waitUntil(self.registration.showNotification(data.title ?? 'GroundGame', options))
})

self.addEventListener('notificationclick', (event: NotificationEvent) => {
  event.notification.close()
  const url = new URL((event.notification.data as { url?: string } | null)?.url ?? '/', self.location.origin).href
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true })
      const same = windows.find((w) => new URL(w.url).origin === self.location.origin)
      if (same) {
        await same.focus()
        await same.navigate(url).catch(() => undefined)
      } else {
        await self.clients.openWindow(url)
      }
    })(),
  )
})
