import { createApp } from 'vue'
import App from './App.vue'
import { onUnauthorized } from '@shared/api/client'
import { locale, t } from '@shared/i18n'
import { startSyncLoop } from './offline/sync'
import { router } from './router'
import { setToken } from '@shared/session'
import { pageTitle } from './title'
import { showSnack } from './ui'
import './styles/m3.css'

document.documentElement.lang = locale.value
router.afterEach(() => {
  pageTitle.value = null
})

// An expired session sends the volunteer to the login screen; the outbox is kept (not a logout).
onUnauthorized(() => {
  setToken(null)
  const current = router.currentRoute.value
  if (!current.meta.public) void router.push({ path: '/login', query: { next: current.fullPath } })
})

createApp(App).use(router).mount('#app')
startSyncLoop()

// New versions are offered, never forced: the volunteer may be in the middle of a call.
if ('serviceWorker' in navigator && import.meta.env.PROD) {
  void import('virtual:pwa-register').then(({ registerSW }) => {
    const updateSW = registerSW({
      immediate: true,
      onNeedRefresh() {
        showSnack(t('app.updateAvailable'), { action: { label: t('app.reload'), run: () => void updateSW(true) } })
      },
      onRegisteredSW(_url, reg) {
        if (reg) setInterval(() => void reg.update().catch(() => undefined), 60 * 60 * 1000)
      },
    })
  })
}
