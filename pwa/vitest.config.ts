import { defineConfig } from 'vitest/config'
import { alias } from './vite.shared.ts'

export default defineConfig({
  resolve: { alias },
  test: {
    environment: 'node',
    include: ['tests/**/*.test.ts'],
    setupFiles: ['tests/setup.ts'],
  },
})
