// Keeps an in-progress report (outcome, consent, answers…) in IndexedDB so that a reload or a
// crash in the middle of a conversation loses nothing. Wiped with everything else at logout.
import { toRaw, watch, type WatchSource } from 'vue'
import { del, get, put } from '../../offline/db'

interface Stored<T> {
  key: string
  value: T
}

export async function restoreDraft<T>(key: string): Promise<T | undefined> {
  try {
    return (await get<Stored<T>>('meta', key))?.value
  } catch {
    return undefined
  }
}

export function persistDraft<T>(key: string, source: WatchSource<T>): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null
  return watch(
    source,
    (value) => {
      if (timer) clearTimeout(timer)
      timer = setTimeout(() => {
        void put<Stored<T>>('meta', { key, value: JSON.parse(JSON.stringify(toRaw(value))) as T }).catch(() => undefined)
      }, 300)
    },
    { deep: true },
  )
}

export async function clearDraft(key: string): Promise<void> {
  try {
    await del('meta', key)
  } catch {
    /* nothing stored */
  }
}
