// Selected hexagons → one target area for the action wizard. Hexagons of one grid share their edges exactly
// (the server rounds the same vertices the same way), so the union is their outline: drop every edge used twice,
// chain the rest into rings. One piece → a Polygon; several → a MultiPolygon (the wizard's map edits each piece).
import type { Area, Ring } from '../map/area'

export type { Area, Ring }

const key = (p: number[]): string => `${p[0]!.toFixed(7)},${p[1]!.toFixed(7)}`

function signedArea(r: Ring): number {
  let a = 0
  for (let i = 0; i + 1 < r.length; i++) a += r[i]![0]! * r[i + 1]![1]! - r[i + 1]![0]! * r[i]![1]!
  return a / 2
}

function inside(p: number[], r: Ring): boolean {
  let hit = false
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
    const [xi, yi] = r[i] as [number, number]
    const [xj, yj] = r[j] as [number, number]
    if (yi > p[1]! !== yj > p[1]! && p[0]! < ((xj - xi) * (p[1]! - yi)) / (yj - yi) + xi) hit = !hit
  }
  return hit
}

/** The outline of the union of edge-sharing polygons (each given by its outer ring, closed). */
export function cellsToArea(cells: Ring[]): Area | null {
  if (!cells.length) return null
  const orient = Math.sign(signedArea(cells[0]!)) || 1
  const count = new Map<string, number>()
  const edges: [number[], number[]][] = []
  for (const raw of cells) {
    const ring = Math.sign(signedArea(raw)) === orient ? raw : [...raw].reverse()
    for (let i = 0; i + 1 < ring.length; i++) {
      const a = ring[i]!, b = ring[i + 1]!
      if (key(a) === key(b)) continue
      const k = [key(a), key(b)].sort().join('|')
      count.set(k, (count.get(k) ?? 0) + 1)
      edges.push([a, b])
    }
  }
  const outline = edges.filter(([a, b]) => count.get([key(a), key(b)].sort().join('|')) === 1)
  const from = new Map<string, [number[], number[]][]>()
  for (const e of outline) from.set(key(e[0]), [...(from.get(key(e[0])) ?? []), e])
  const used = new Set<[number[], number[]]>()
  const rings: Ring[] = []
  for (const start of outline) {
    if (used.has(start)) continue
    const ring: Ring = [start[0]]
    let e: [number[], number[]] | undefined = start
    while (e && !used.has(e)) {
      used.add(e)
      ring.push(e[1])
      if (key(e[1]) === key(start[0])) break
      e = (from.get(key(e[1])) ?? []).find((x) => !used.has(x))
    }
    if (ring.length >= 4 && key(ring[0]!) === key(ring[ring.length - 1]!)) rings.push(ring)
  }
  const outers = rings.filter((r) => Math.sign(signedArea(r)) === orient)
  const holes = rings.filter((r) => Math.sign(signedArea(r)) !== orient)
  // GeoJSON (RFC 7946): outer rings counter-clockwise, holes clockwise.
  const ccw = (r: Ring, want: 1 | -1): Ring => (Math.sign(signedArea(r)) === want ? r : [...r].reverse())
  const polys = outers.map((o) => [ccw(o, 1), ...holes.filter((h) => inside(h[0]!, o)).map((h) => ccw(h, -1))])
  if (polys.length === 1) return { type: 'Polygon', coordinates: polys[0]! }
  return { type: 'MultiPolygon', coordinates: polys }
}

/** Handing the picked area from the map to the wizard (one navigation, nothing in the URL to outgrow). */
let picked: Area | null = null
export function pickArea(a: Area | null): void {
  picked = a
}
export function takePickedArea(): Area | null {
  const a = picked
  picked = null
  return a
}
