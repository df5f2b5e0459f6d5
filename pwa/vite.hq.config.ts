// The HQ console: the second Vite entry of this project, built into dist/hq/ and served at /hq/.
// It shares src/shared/ (API client, session, i18n) with the volunteer app but no chunk: the volunteer
// build (vite.config.ts) never sees HQ code, and its service worker never precaches dist/hq/.
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import vuetify from 'vite-plugin-vuetify'
import { alias } from './vite.shared.ts'

export default defineConfig({
  root: fileURLToPath(new URL('./hq', import.meta.url)),
  base: '/hq/',
  publicDir: false,
  resolve: { alias },
  plugins: [vue(), vuetify({ autoImport: true })],
  build: {
    target: 'es2022',
    outDir: fileURLToPath(new URL('./dist/hq', import.meta.url)),
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
  },
  server: {
    proxy: { '/api': 'http://127.0.0.1:8000' },
  },
})
