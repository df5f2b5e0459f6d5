// The signed-in session: the bearer token lives in localStorage (survives reloads, wiped at logout).
import { ref } from 'vue'

const TOKEN_KEY = 'gg.token'

function read(): string | null {
  try {
    return globalThis.localStorage?.getItem(TOKEN_KEY) ?? null
  } catch {
    return null
  }
}

export const token = ref<string | null>(read())

export function getToken(): string | null {
  return token.value
}

export function setToken(value: string | null): void {
  token.value = value
  try {
    if (value) localStorage.setItem(TOKEN_KEY, value)
    else localStorage.removeItem(TOKEN_KEY)
  } catch {
    /* private mode: keep it in memory */
  }
}
