// Where a geometry error is: the API names the position ("geometry.coordinates.0.3") or the reason
// carries it ("Self-intersection[26.1 44.43]"). Returns [lon, lat] to highlight, or null.
export function problemPoint(message: string, field: string, rings: number[][][] | null): [number, number] | null {
  const m = /\[\s*(-?\d+(?:\.\d+)?)[\s,]+(-?\d+(?:\.\d+)?)\s*\]/.exec(message)
  if (m) return [Number(m[1]), Number(m[2])]
  const idx = /coordinates\.(\d+)\.(\d+)$/.exec(field)
  if (idx && rings) {
    const p = rings[Number(idx[1])]?.[Number(idx[2])]
    if (p && p.length >= 2) return [p[0]!, p[1]!]
  }
  return null
}
