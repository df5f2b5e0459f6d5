import { describe, expect, it } from 'vitest'
import { joined, outerVertices, pieces, type Polygon } from '../src/hq/map/area'

const square = (x: number): Polygon => ({ type: 'Polygon', coordinates: [[[x, 0], [x + 1, 0], [x + 1, 1], [x, 1], [x, 0]]] })

describe('an area as the maps edit it: one Polygon a piece', () => {
  it('splits a MultiPolygon into its pieces and joins them back to the same MultiPolygon', () => {
    const area = { type: 'MultiPolygon' as const, coordinates: [square(0).coordinates, square(5).coordinates] }
    const split = pieces(area)
    expect(split).toEqual([square(0), square(5)])
    expect(joined(split)).toEqual(area)
  })

  it('keeps a lone Polygon a Polygon both ways, and no piece is no area', () => {
    expect(pieces(square(2))).toEqual([square(2)])
    expect(joined([square(2)])).toEqual(square(2))
    expect(joined([])).toBeNull()
  })

  it('fits the view to every piece, not the first only', () => {
    const xs = outerVertices(joined([square(0), square(5)])!).map((p) => p[0]!)
    expect(Math.min(...xs)).toBe(0)
    expect(Math.max(...xs)).toBe(6)
  })
})
