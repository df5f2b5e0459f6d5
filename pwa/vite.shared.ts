// What both Vite entries (volunteer app, HQ console) and Vitest share.
import { fileURLToPath } from 'node:url'

export const alias = {
  '@shared': fileURLToPath(new URL('./src/shared', import.meta.url)),
}
