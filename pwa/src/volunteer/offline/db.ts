// Minimal promise wrapper over IndexedDB. One database, three stores:
//  - outbox: writes waiting for the server (keyPath "id" = the client UUID), ordered by "seq"
//  - cache:  last known server data for offline reading (keyPath "key")
//  - meta:   small app state (e.g. the current call flow)
export const DB_NAME = 'groundgame'
const DB_VERSION = 1
export type StoreName = 'outbox' | 'cache' | 'meta'
export const STORES: StoreName[] = ['outbox', 'cache', 'meta']

let dbPromise: Promise<IDBDatabase> | null = null

export function openDb(): Promise<IDBDatabase> {
  if (dbPromise) return dbPromise
  dbPromise = new Promise<IDBDatabase>((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, DB_VERSION)
    req.onupgradeneeded = () => {
      const db = req.result
      if (!db.objectStoreNames.contains('outbox')) {
        const s = db.createObjectStore('outbox', { keyPath: 'id' })
        s.createIndex('seq', 'seq')
      }
      if (!db.objectStoreNames.contains('cache')) db.createObjectStore('cache', { keyPath: 'key' })
      if (!db.objectStoreNames.contains('meta')) db.createObjectStore('meta', { keyPath: 'key' })
    }
    req.onsuccess = () => {
      const db = req.result
      db.onversionchange = () => {
        db.close()
        dbPromise = null
      }
      resolve(db)
    }
    req.onerror = () => {
      dbPromise = null
      reject(req.error)
    }
  })
  return dbPromise
}

/** Closes the connection (tests use it to simulate a reload). */
export async function closeDb(): Promise<void> {
  if (!dbPromise) return
  const db = await dbPromise.catch(() => null)
  db?.close()
  dbPromise = null
}

function done<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error)
  })
}

export async function tx<T>(
  store: StoreName,
  mode: IDBTransactionMode,
  fn: (s: IDBObjectStore) => IDBRequest<T> | Promise<T> | T,
): Promise<T> {
  const db = await openDb()
  return new Promise<T>((resolve, reject) => {
    const t = db.transaction(store, mode)
    let result: T
    t.oncomplete = () => resolve(result)
    t.onerror = () => reject(t.error)
    t.onabort = () => reject(t.error ?? new Error('transaction aborted'))
    const r = fn(t.objectStore(store))
    if (r instanceof IDBRequest) done(r).then((v) => (result = v), reject)
    else Promise.resolve(r).then((v) => (result = v), reject)
  })
}

export function get<T>(store: StoreName, key: string): Promise<T | undefined> {
  return tx<T | undefined>(store, 'readonly', (s) => s.get(key) as IDBRequest<T | undefined>)
}
export function put<T>(store: StoreName, value: T): Promise<IDBValidKey> {
  return tx(store, 'readwrite', (s) => s.put(value))
}
export function del(store: StoreName, key: string): Promise<undefined> {
  return tx(store, 'readwrite', (s) => s.delete(key))
}
export function getAll<T>(store: StoreName, index?: string): Promise<T[]> {
  return tx<T[]>(store, 'readonly', (s) => (index ? s.index(index).getAll() : s.getAll()) as IDBRequest<T[]>)
}
export function count(store: StoreName): Promise<number> {
  return tx(store, 'readonly', (s) => s.count())
}

/** Wipes every store (personal data) without deleting the database (other tabs may hold it open). */
export async function clearAll(): Promise<void> {
  const db = await openDb()
  await new Promise<void>((resolve, reject) => {
    const t = db.transaction(STORES, 'readwrite')
    for (const name of STORES) t.objectStore(name).clear()
    t.oncomplete = () => resolve()
    t.onerror = () => reject(t.error)
  })
}
