// The HQ console (/hq/): Vue 3 + Vuetify, every page lazy; the map (MapLibre, terra-draw) loads on demand.
import { createApp } from 'vue'
import { onUnauthorized } from '@shared/api/client'
import { locale } from '@shared/i18n/locale'
import { setToken } from '@shared/session'
import App from './App.vue'
import { me } from './me'
import { router } from './router'
import { vuetify } from './vuetify'
import './hq.css'

document.documentElement.lang = locale.value

onUnauthorized(() => {
  setToken(null)
  me.value = null
  const current = router.currentRoute.value
  if (!current.meta.public) void router.push({ path: '/login', query: { next: current.fullPath } })
})

createApp(App).use(vuetify).use(router).mount('#app')
