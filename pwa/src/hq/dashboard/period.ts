// The period of a dashboard from the route's query (?from=&to=&bucket=), as the API's query parameters.
import type { LocationQuery } from 'vue-router'

export interface PeriodQuery {
  from?: string
  to?: string
  bucket: 'hour' | 'day'
}

export function periodQuery(q: LocationQuery, bucket: 'hour' | 'day'): PeriodQuery {
  const s = (k: string): string | undefined => (typeof q[k] === 'string' && q[k] ? (q[k] as string) : undefined)
  const b = s('bucket')
  const out: PeriodQuery = { bucket: b === 'hour' || b === 'day' ? b : bucket }
  const from = s('from')
  const to = s('to')
  if (from) out.from = from
  if (to) out.to = to
  return out
}
