// An area as the API takes it (GeoJSON Polygon or MultiPolygon) and as terra-draw edits it (one Polygon feature a
// piece): the two conversions, in one place for every map that edits an area (the wizard's, the zone editor's).
export type Ring = number[][]
export type Polygon = { type: 'Polygon'; coordinates: Ring[] }
export type MultiPolygon = { type: 'MultiPolygon'; coordinates: Ring[][] }
export type Area = Polygon | MultiPolygon

/** The pieces of an area, each a Polygon (what terra-draw draws and edits). */
export function pieces(area: Area): Polygon[] {
  return area.type === 'MultiPolygon' ? area.coordinates.map((c) => ({ type: 'Polygon', coordinates: c })) : [area]
}

/** The pieces back as one area: nothing, one Polygon, or a MultiPolygon of several. */
export function joined(polys: Polygon[]): Area | null {
  if (polys.length === 0) return null
  if (polys.length === 1) return polys[0]!
  return { type: 'MultiPolygon', coordinates: polys.map((p) => p.coordinates) }
}

/** Every vertex of every piece's outer ring (what a map fits its view to). */
export function outerVertices(area: Area): number[][] {
  return pieces(area).flatMap((p) => p.coordinates[0] ?? [])
}
