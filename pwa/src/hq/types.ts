import type { components } from '../api/schema'

type S = components['schemas']
export type Filter = S['SegmentFilter']
export type Contact = S['ContactRead']
export type Zone = S['ZoneRead']
export type Action = S['ActionRead']
export type Team = S['TeamRead']
export type User = S['UserRead']
export type Opportunity = S['OpportunityRead']
export type ImportJob = S['ImportRead']
export type Survey = S['SurveyRead']
export type Polygon = { type: 'Polygon'; coordinates: number[][][] }

/** Support level colours (hq-ux.md: ColorBrewer RdYlBu, colour-blind safe), the same as the volunteer app. */
export const SUPPORT_COLOURS: Record<string, string> = {
  '1': '#2c7bb6',
  '2': '#abd9e9',
  '3': '#ffffbf',
  '4': '#fdae61',
  '5': '#d7191c',
  unknown: '#9e9e9e',
}

/** Drops empty fields so the filter sent (and stored in the URL or a draft) is the smallest one. */
export function cleanFilter(f: Filter): Filter {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(f)) {
    if (v === null || v === undefined || v === '') continue
    if (Array.isArray(v) && v.length === 0) continue
    if (typeof v === 'object' && !Array.isArray(v) && k !== 'polygon') {
      const inner = Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== null && x !== undefined && x !== ''))
      if (Object.keys(inner).length) out[k] = inner
      continue
    }
    out[k] = v
  }
  return out as Filter
}
