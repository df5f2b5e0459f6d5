// The one module that decides how to talk to the server.
//  - Reads: network first; the answer is stored in IndexedDB, and served from there when offline.
//  - Field writes (call reports, visits, new contacts): always through the outbox, synced in the
//    background, so nothing is lost when the signal drops.
//  - Online-only operations (log in, start call: the phone number is revealed and audited by the
//    server) fail with a NetworkError the screens turn into an "offline" message.
import { reactive } from 'vue'
import { api, ApiError, NetworkError, notifyUnauthorized, unwrap } from '@shared/api/client'
import { allPages } from '@shared/api/pages'
import type {
  Action, AppConfig, CallReportCreate, CallStart, CallTarget, Me, MyReport, Opportunity, OpportunityStatus,
  OpportunityType, OthersSummary, P2PText, ParticipationStatus, ReportCorrection, Survey, Token, VisitCreate, WalkList,
} from '@shared/api/types'
import { getToken, setToken } from '@shared/session'
import { clearAll, get, put } from './db'
import { createOutbox } from './outbox'

export { ApiError, NetworkError }

export const outboxState = reactive({ pending: 0, problems: 0 })

async function refreshCounts(): Promise<void> {
  try {
    const c = await outbox.counts()
    outboxState.pending = c.pending
    outboxState.problems = c.problems
  } catch {
    /* IndexedDB unavailable */
  }
}

export const outbox = createOutbox({
  getToken,
  onChange: () => void refreshCounts(),
  onUnauthorized: notifyUnauthorized,
})

interface CacheEntry<T> {
  key: string
  value: T
  saved_at: string
}

export interface Loaded<T> {
  data: T
  fromCache: boolean
  savedAt?: string
}

export async function readCache<T>(key: string): Promise<CacheEntry<T> | undefined> {
  try {
    return await get<CacheEntry<T>>('cache', key)
  } catch {
    return undefined
  }
}

export async function writeCache<T>(key: string, value: T): Promise<void> {
  try {
    await put<CacheEntry<T>>('cache', { key, value, saved_at: new Date().toISOString() })
  } catch {
    /* quota or private mode: the app still works online */
  }
}

/** Network first, IndexedDB when the network is unreachable. */
async function cachedRead<T>(key: string, load: () => Promise<T>): Promise<Loaded<T>> {
  try {
    const data = await load()
    await writeCache(key, data)
    return { data, fromCache: false }
  } catch (e) {
    if (!(e instanceof NetworkError)) throw e
    const hit = await readCache<T>(key)
    if (!hit) throw e
    return { data: hit.value, fromCache: true, savedAt: hit.saved_at }
  }
}

// ---- auth -------------------------------------------------------------------------------------

export async function login(email: string, password: string, totp_code?: string): Promise<Token> {
  const body = totp_code ? { email, password, totp_code } : { email, password }
  const t = unwrap(await api.POST('/api/v1/auth/login', { body }))
  setToken(t.access_token)
  return t
}

export async function acceptInvitation(token: string, full_name: string, password: string): Promise<Token> {
  const t = unwrap(await api.POST('/api/v1/auth/invitations/{token}/accept', { params: { path: { token } }, body: { full_name, password } }))
  setToken(t.access_token)
  return t
}

/** Revokes the token (best effort) and wipes every piece of personal data kept on the device. */
export async function logout(): Promise<void> {
  try {
    await api.POST('/api/v1/auth/logout')
  } catch {
    /* offline: the token expires on its own */
  }
  await wipePersonalData()
}

export async function wipePersonalData(): Promise<void> {
  setToken(null)
  try {
    await clearAll()
  } catch {
    /* nothing stored */
  }
  try {
    const names = await globalThis.caches?.keys()
    // Keep only the app shell precache (code, no personal data).
    await Promise.all((names ?? []).filter((n) => !n.startsWith('workbox-precache')).map((n) => caches.delete(n)))
  } catch {
    /* Cache Storage unavailable */
  }
  try {
    sessionStorage.clear()
  } catch {
    /* ignore */
  }
  await refreshCounts()
}

// ---- reads --------------------------------------------------------------------------------------

export const getConfig = (): Promise<Loaded<AppConfig>> =>
  cachedRead('config', async () => unwrap(await api.GET('/api/v1/config')))

export const getMe = (): Promise<Loaded<Me>> => cachedRead('me', async () => unwrap(await api.GET('/api/v1/me')))

export const listMyActions = (): Promise<Loaded<Action[]>> =>
  cachedRead('actions:mine', () =>
    allPages(async (cursor) => unwrap(await api.GET('/api/v1/actions', { params: { query: { mine: true, cursor } } }))),
  )

export async function getAction(id: string): Promise<Loaded<Action>> {
  try {
    return await cachedRead(`action:${id}`, async () => unwrap(await api.GET('/api/v1/actions/{action_id}', { params: { path: { action_id: id } } })))
  } catch (e) {
    if (!(e instanceof NetworkError)) throw e
    const list = await readCache<Action[]>('actions:mine')
    const hit = list?.value.find((a) => a.id === id)
    if (!hit) throw e
    return { data: hit, fromCache: true, savedAt: list?.saved_at }
  }
}

/** My list, or the others' (one member's with `memberId`: the server applies who may call whom). */
export const listCalls = (actionId: string, which: 'mine' | 'others', memberId?: string): Promise<Loaded<CallTarget[]>> =>
  cachedRead(`calls:${actionId}:${which}${memberId ? `:${memberId}` : ''}`, () =>
    allPages(async (cursor) => {
      const path = { action_id: actionId }
      if (which === 'mine') return unwrap(await api.GET('/api/v1/actions/{action_id}/calls/mine', { params: { path, query: { limit: 500, cursor } } }))
      const query = memberId ? { limit: 500, cursor, member_id: memberId } : { limit: 500, cursor }
      return unwrap(await api.GET('/api/v1/actions/{action_id}/calls/others', { params: { path, query } }))
    }),
  )

/** Whose lists I may call from, team-mates first, and the pool. */
export const listOthersMembers = (actionId: string): Promise<Loaded<OthersSummary>> =>
  cachedRead(`others:${actionId}`, async () =>
    unwrap(await api.GET('/api/v1/actions/{action_id}/calls/others/members', { params: { path: { action_id: actionId } } })),
  )

/** My reports on this action I can still correct. */
export const listMyReports = (actionId: string): Promise<Loaded<MyReport[]>> =>
  cachedRead(`reports:${actionId}`, async () =>
    unwrap(await api.GET('/api/v1/actions/{action_id}/reports/mine', { params: { path: { action_id: actionId } } })),
  )

export const getSurvey = (id: string): Promise<Loaded<Survey>> =>
  cachedRead(`survey:${id}`, async () => unwrap(await api.GET('/api/v1/surveys/{survey_id}', { params: { path: { survey_id: id } } })))

/** The walk list; with the volunteer's position, in route order (nearest building first, computed by the server).
 * Either order is kept on the device under one key: offline, the door flow finds its household in the last one. */
export const getWalklist = (actionId: string, near?: { lat: number; lon: number }): Promise<Loaded<WalkList>> =>
  cachedRead(`walklist:${actionId}`, async () =>
    unwrap(
      await api.GET('/api/v1/actions/{action_id}/walklist', {
        params: { path: { action_id: actionId }, query: near ? { near_lat: near.lat, near_lon: near.lon } : {} },
      }),
    ),
  )

export const listOpportunityTypes = (): Promise<Loaded<OpportunityType[]>> =>
  cachedRead('opportunity-types', async () => unwrap(await api.GET('/api/v1/opportunity-types')))

export const listMyOpportunities = (): Promise<Loaded<Opportunity[]>> =>
  cachedRead('opportunities:mine', () =>
    allPages(async (cursor) => unwrap(await api.GET('/api/v1/opportunities', { params: { query: { mine: true, cursor } } }))),
  )

/** A calling target by id, from what the calling lists (or "next") left in IndexedDB. */
export async function findTarget(actionId: string, targetId: string): Promise<CallTarget | undefined> {
  const one = await readCache<CallTarget>(`target:${targetId}`)
  if (one) return one.value
  for (const which of ['mine', 'others'] as const) {
    const list = await readCache<CallTarget[]>(`calls:${actionId}:${which}`)
    const hit = list?.value.find((t) => t.id === targetId)
    if (hit) return hit
  }
  return undefined
}

// ---- calling ------------------------------------------------------------------------------------

/** Claims the next target. Offline: the next pending target of my cached list not yet reported here. */
export async function nextCall(actionId: string): Promise<CallTarget | null> {
  try {
    const t = unwrap(await api.POST('/api/v1/actions/{action_id}/calls/next', { params: { path: { action_id: actionId } } }))
    await writeCache(`target:${t.id}`, t)
    return t
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null
    if (!(e instanceof NetworkError)) throw e
    const list = (await readCache<CallTarget[]>(`calls:${actionId}:mine`))?.value ?? []
    const reported = new Set(await reportedTargets())
    return list.find((t) => (t.status === 'pending' || t.status === 'callback') && !reported.has(t.id)) ?? null
  }
}

/** Starts the call: the server leases the target and reveals the number. The card is kept offline. */
export async function startCall(targetId: string): Promise<Loaded<CallStart>> {
  return cachedRead(`contact:${targetId}`, async () =>
    unwrap(await api.POST('/api/v1/calls/{target_id}/start', { params: { path: { target_id: targetId } } })),
  )
}

export async function openedContact(targetId: string): Promise<CallStart | undefined> {
  return (await readCache<CallStart>(`contact:${targetId}`))?.value
}

async function reportedTargets(): Promise<string[]> {
  return (await readCache<string[]>('reported-targets'))?.value ?? []
}

async function markReported(targetId: string): Promise<void> {
  const ids = await reportedTargets()
  if (!ids.includes(targetId)) await writeCache('reported-targets', [...ids, targetId].slice(-1000))
}

export async function isReported(targetId: string): Promise<boolean> {
  return (await reportedTargets()).includes(targetId)
}

function kick(): void {
  if (typeof navigator === 'undefined' || navigator.onLine !== false) void outbox.sync().catch(() => undefined)
}

/** Online, waits until the outbox has sent what is queued (twice: a sync already running may have started before
 * the last item was queued), so that the next request sees it, e.g. "Save and call next" asking for the next
 * contact. Offline it returns at once; the outbox replays later as usual. */
export async function settleOutbox(): Promise<void> {
  if (typeof navigator !== 'undefined' && navigator.onLine === false) return
  await outbox.sync().catch(() => undefined)
  await outbox.sync().catch(() => undefined)
}

/** The phone's time when the record is saved (it may sync much later). */
const now = (): string => new Date().toISOString()

/** Where a card goes after its report, as the server will decide it (app/calling/reports.py), so the list shows it
 * at once, also offline; the server's answer replaces it on the next read. */
function statusAfter(outcome: string, attempts: number, maxAttempts: number): CallTarget['status'] {
  if (outcome === 'absent' || outcome === 'not_home') return attempts < maxAttempts ? 'pending' : 'done'
  if (outcome === 'callback') return 'callback'
  if (outcome === 'wrong_number' || outcome === 'do_not_call' || outcome === 'moved') return 'closed'
  return 'done'
}

async function markCard(actionId: string, targetId: string, status: CallTarget['status'], outcome: string): Promise<void> {
  for (const which of ['mine', 'others'] as const) {
    const list = await readCache<CallTarget[]>(`calls:${actionId}:${which}`)
    if (list?.value.some((c) => c.id === targetId)) {
      await writeCache(`calls:${actionId}:${which}`, list.value.map((c) => (c.id === targetId ? { ...c, status, last_outcome: outcome, attempts: c.attempts + 1 } : c)))
    }
  }
  const walk = await readCache<WalkList>(`walklist:${actionId}`)
  if (walk) {
    for (const st of walk.value.streets) for (const b of st.buildings) for (const h of b.households) if (h.target_id === targetId) Object.assign(h, { status, last_outcome: outcome })
    await writeCache(`walklist:${actionId}`, walk.value)
  }
}

export interface SubmitOptions {
  /** Who it is about, shown in the queue. */
  label?: string
  actionId?: string
  attempts?: number
  maxAttempts?: number
}

export async function submitCallReport(targetId: string, body: CallReportCreate, opts: SubmitOptions = {}): Promise<void> {
  body = { ...body, recorded_at: body.recorded_at ?? now() }
  await outbox.enqueue({ id: body.id, kind: 'call_report', path: `/api/v1/calls/${encodeURIComponent(targetId)}/report`, body, label: opts.label })
  if (opts.actionId) await markCard(opts.actionId, targetId, statusAfter(body.outcome, (opts.attempts ?? 0) + 1, opts.maxAttempts ?? 3), body.outcome)
  await markReported(targetId)
  kick()
}

// ---- door to door -------------------------------------------------------------------------------

export async function submitVisit(actionId: string, body: VisitCreate, opts: SubmitOptions = {}): Promise<void> {
  body = { ...body, recorded_at: body.recorded_at ?? now() }
  await outbox.enqueue({ id: body.id, kind: 'visit', path: `/api/v1/actions/${encodeURIComponent(actionId)}/visits`, body, label: opts.label })
  if (body.target_id) await markCard(actionId, body.target_id, statusAfter(body.outcome, (opts.attempts ?? 0) + 1, opts.maxAttempts ?? 3), body.outcome)
  if (body.target_id) await markReported(body.target_id)
  kick()
}

// ---- corrections and peer-to-peer texts ----------------------------------------------------------

/** A new version of my report, through the outbox (works offline); the cached list shows it at once. */
export async function submitCorrection(actionId: string, report: MyReport, body: ReportCorrection): Promise<void> {
  await outbox.enqueue({
    id: body.id, kind: 'correction', path: `/api/v1/reports/${encodeURIComponent(report.id)}/corrections`, body,
    label: report.contact_name ?? undefined,
  })
  const list = await readCache<MyReport[]>(`reports:${actionId}`)
  if (list) {
    const updated = { ...report, ...body, version: report.version + 1, id: report.id } as MyReport
    await writeCache(`reports:${actionId}`, list.value.map((r) => (r.id === report.id ? updated : r)))
  }
  kick()
}

/** The action's text for this person (online: the server checks their SMS consent). */
export async function prepareText(actionId: string, contactId: string): Promise<P2PText> {
  return unwrap(await api.GET('/api/v1/actions/{action_id}/contacts/{contact_id}/p2p-text', { params: { path: { action_id: actionId, contact_id: contactId } } }))
}

/** The text was handed to the phone's SMS app: logged on the person's timeline (once per id). */
export async function logText(actionId: string, contactId: string, label?: string): Promise<void> {
  const id = crypto.randomUUID()
  await outbox.enqueue({ id, kind: 'p2p_text', path: `/api/v1/actions/${encodeURIComponent(actionId)}/contacts/${encodeURIComponent(contactId)}/p2p-text`, body: { id }, label })
  kick()
}

// ---- attendance and tasks -------------------------------------------------------------------------

export async function setParticipation(action: Action, status: ParticipationStatus): Promise<Action> {
  const updated: Action = { ...action, my_participation: { status, availability: action.my_participation?.availability ?? null } }
  await outbox.enqueue({ kind: 'participation', method: 'PUT', path: `/api/v1/actions/${encodeURIComponent(action.id)}/participation`, body: { status } })
  await writeCache(`action:${action.id}`, updated)
  const list = await readCache<Action[]>('actions:mine')
  if (list) await writeCache('actions:mine', list.value.map((a) => (a.id === action.id ? updated : a)))
  kick()
  return updated
}

export async function updateOpportunity(id: string, status: OpportunityStatus): Promise<Opportunity> {
  return unwrap(await api.PATCH('/api/v1/opportunities/{opportunity_id}', { params: { path: { opportunity_id: id } }, body: { status } }))
}

export { refreshCounts }
