// Who is signed in to the console, and what their role lets them open.
import { ref } from 'vue'
import type { components } from '../api/schema'
import { api, unwrap } from './api'

export type Me = components['schemas']['MeRead']
export type Role = components['schemas']['Role']

export const me = ref<Me | null>(null)

export async function loadMe(): Promise<Me> {
  me.value = unwrap(await api.GET('/api/v1/me'))
  return me.value
}

/** Staff pages: admins and managers see everything, team leaders their teams and actions, volunteers nothing. */
export const STAFF: Role[] = ['admin', 'manager', 'team_leader']
export const MANAGERS: Role[] = ['admin', 'manager']

export function can(roles: readonly Role[] | undefined): boolean {
  return !roles || (me.value !== null && roles.includes(me.value.role))
}
