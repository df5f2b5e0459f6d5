// Uploads one document to an action (multipart, behind the bearer token); the API caps the size and the type.
import { NetworkError, toApiError } from '@shared/api/client'
import { getToken } from '@shared/session'
import type { components } from '../../../api/schema'

export type ActionDocument = components['schemas']['DocumentRead']

export async function uploadDocument(actionId: string, file: File): Promise<ActionDocument> {
  const body = new FormData()
  body.append('file', file, file.name)
  let res: Response
  try {
    res = await fetch(`/api/v1/actions/${encodeURIComponent(actionId)}/documents`, {
      method: 'POST',
      body,
      headers: { Authorization: `Bearer ${getToken() ?? ''}` },
    })
  } catch (e) {
    throw new NetworkError(e)
  }
  if (!res.ok) throw toApiError(res.status, await res.json().catch(() => null))
  return (await res.json()) as ActionDocument
}
