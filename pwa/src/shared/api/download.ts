// Downloads a file the API serves behind the bearer token (exports, rejected rows, GDPR export, an action's
// documents, walk lists): both apps use it, a plain link would carry no token.
import { toApiError, NetworkError } from '@shared/api/client'
import { getToken } from '@shared/session'

export async function downloadAuthed(path: string, filename: string): Promise<void> {
  let res: Response
  try {
    res = await fetch(path, { headers: { Authorization: `Bearer ${getToken() ?? ''}` } })
  } catch (e) {
    throw new NetworkError(e)
  }
  if (!res.ok) throw toApiError(res.status, await res.json().catch(() => null))
  const blob = await res.blob()
  const a = document.createElement('a')
  a.href = URL.createObjectURL(blob)
  a.download = filename
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000)
}
