import { describe, expect, it } from 'vitest'
import { ApiError, NetworkError } from '../src/shared/api/client'
import { setLocale } from '../src/shared/i18n/locale'
import { useFormErrors } from '../src/hq/api'
import { problemPoint } from '../src/hq/map/problems'
import { cleanFilter } from '../src/hq/types'

describe('HQ form errors', () => {
  it('puts each 422 detail next to the field it names and keeps the rest as one message', () => {
    const f = useFormErrors()
    f.set(new ApiError(422, 'validation_error', 'Invalid request.', [
      { field: 'title', message: 'String should have at least 1 character' },
      { field: 'filter.polygon.coordinates.0', message: 'ring is not closed' },
      { field: 'colour', message: 'unknown field' },
    ]), ['title', 'filter'])
    expect(f.of('title')).toEqual(['String should have at least 1 character'])
    expect(f.of('filter')).toEqual(['ring is not closed'])
    expect(f.state.general).toContain('colour: unknown field')
  })

  it('says a lost connection and a server error in words, never a blank', () => {
    setLocale('en')
    const f = useFormErrors()
    f.set(new NetworkError(new TypeError('Failed to fetch')), ['name'])
    expect(f.state.general).toMatch(/^Connection lost/)
    expect(f.state.fields).toEqual({})
    f.set(new ApiError(500, 'internal_error', 'boom'), ['name'])
    expect(f.state.general).toMatch(/^The server had a problem/)
  })
})

describe('geometry problems on the map', () => {
  it('finds the point in the reason or the position the field names', () => {
    expect(problemPoint('Self-intersection[26.105 44.435]', 'geometry', null)).toEqual([26.105, 44.435])
    const ring = [[[26.1, 44.4], [26.2, 44.4], [26.2, 44.5], [26.1, 44.4]]]
    expect(problemPoint('coordinates out of range', 'geometry.coordinates.0.2', ring)).toEqual([26.2, 44.5])
    expect(problemPoint('empty geometry', 'geometry', ring)).toBeNull()
  })
})

describe('the filter sent', () => {
  it('leaves out empty fields but keeps a polygon and false flags', () => {
    const polygon = { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 0]]] }
    expect(cleanFilter({ q: '', zone_ids: [], tags_any: ['a'], has_email: false, age_min: null, flags: { donor: null, member: true }, polygon })).toEqual({
      tags_any: ['a'],
      has_email: false,
      flags: { member: true },
      polygon,
    })
  })
})
