// MapLibre + terra-draw, loaded on demand (only the map page and the wizard's area step import this).
// No basemap by default: our own layers over a plain background; the basemap style URL is a setting of the
// organization (Settings), read from /me, the same for every map and every member.
import * as maplibregl from 'maplibre-gl'
import type { Map as MlMap, StyleSpecification } from 'maplibre-gl'
import 'maplibre-gl/dist/maplibre-gl.css'
// The worker is served from our origin as a file (the CSP allows workers from 'self' only, no blob:).
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url'
import { TerraDraw, TerraDrawPolygonMode, TerraDrawRectangleMode, TerraDrawSelectMode } from 'terra-draw'
import { TerraDrawMapLibreGLAdapter } from 'terra-draw-maplibre-gl-adapter'
import { getToken } from '@shared/session'
import { me } from '../me'
import { SUPPORT_COLOURS } from '../types'
import type { Polygon } from './area'

maplibregl.setWorkerUrl(workerUrl)

export const CONTACT_TILES = '/api/v1/tiles/contacts/{z}/{x}/{y}.mvt'

const BLANK: StyleSpecification = {
  version: 8,
  sources: {},
  layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#eef1f4' } }],
}

export function mapStyleUrl(): string {
  return me.value?.organization.map_style_url ?? ''
}

const supportColour: maplibregl.ExpressionSpecification = [
  'match',
  ['to-string', ['coalesce', ['get', 'support_level'], 'unknown']],
  '1', SUPPORT_COLOURS['1']!,
  '2', SUPPORT_COLOURS['2']!,
  '3', SUPPORT_COLOURS['3']!,
  '4', SUPPORT_COLOURS['4']!,
  '5', SUPPORT_COLOURS['5']!,
  SUPPORT_COLOURS.unknown!,
]

export function createMap(container: HTMLElement, opts: { center?: [number, number]; zoom?: number } = {}): Promise<MlMap> {
  const styleUrl = mapStyleUrl()
  const map = new maplibregl.Map({
    container,
    style: styleUrl || BLANK,
    center: opts.center ?? [26.1, 44.43],
    zoom: opts.zoom ?? 11,
    attributionControl: false,
    // Our own tiles need the bearer token; nothing else is sent it.
    transformRequest: (url: string) =>
      url.startsWith(location.origin + '/api/') ? { url, headers: { Authorization: `Bearer ${getToken() ?? ''}` } } : { url },
  })
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right')
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left')
  // The contacts tile layer may be missing (older server) or a tile may fail: the map goes on without it.
  map.on('error', () => undefined)
  return new Promise((resolve) => {
    map.on('load', () => {
      addOwnLayers(map)
      resolve(map)
    })
  })
}

function addOwnLayers(map: MlMap): void {
  map.addSource('contacts', { type: 'vector', tiles: [location.origin + CONTACT_TILES], minzoom: 0, maxzoom: 16 })
  map.addLayer({
    id: 'contacts-clusters',
    type: 'circle',
    source: 'contacts',
    'source-layer': 'contacts',
    filter: ['>', ['coalesce', ['get', 'count'], 1], 1],
    paint: {
      'circle-color': supportColour,
      'circle-radius': ['interpolate', ['linear'], ['sqrt', ['get', 'count']], 1, 6, 30, 26],
      'circle-stroke-color': '#263238',
      'circle-stroke-width': 1,
      'circle-opacity': 0.85,
    },
  })
  map.addLayer({
    id: 'contacts-points',
    type: 'circle',
    source: 'contacts',
    'source-layer': 'contacts',
    filter: ['<=', ['coalesce', ['get', 'count'], 1], 1],
    paint: { 'circle-color': supportColour, 'circle-radius': 4, 'circle-stroke-color': '#263238', 'circle-stroke-width': 1 },
  })
  map.addSource('zones', { type: 'geojson', data: { type: 'FeatureCollection', features: [] }, promoteId: 'id' })
  map.addLayer({
    id: 'zones-fill',
    type: 'fill',
    source: 'zones',
    paint: { 'fill-color': '#4F378B', 'fill-opacity': ['case', ['boolean', ['feature-state', 'selected'], false], 0.28, 0.04] },
  })
  map.addLayer({ id: 'zones-line', type: 'line', source: 'zones', paint: { 'line-color': '#4F378B', 'line-width': 2 } })
}

export function newDraw(map: MlMap): TerraDraw {
  const draw = new TerraDraw({
    adapter: new TerraDrawMapLibreGLAdapter({ map }),
    modes: [
      new TerraDrawPolygonMode(),
      new TerraDrawRectangleMode(),
      new TerraDrawSelectMode({
        flags: {
          polygon: { feature: { draggable: true, coordinates: { midpoints: true, draggable: true, deletable: true } } },
          rectangle: { feature: { draggable: true, coordinates: { draggable: true, resizable: 'opposite' } } },
        },
      }),
    ],
  })
  draw.start()
  return draw
}

export type { Polygon }

/** The drawn polygons (terra-draw's store, polygons and rectangles alike). */
export function drawnPolygons(draw: TerraDraw): { id: string | number; geometry: Polygon }[] {
  return draw
    .getSnapshot()
    .filter((f) => f.geometry.type === 'Polygon')
    .map((f) => ({ id: f.id as string | number, geometry: f.geometry as Polygon }))
}

export function boundsOf(coords: number[][]): [[number, number], [number, number]] {
  let [minX, minY, maxX, maxY] = [180, 90, -180, -90]
  for (const [x, y] of coords) {
    if (x === undefined || y === undefined) continue
    minX = Math.min(minX, x); minY = Math.min(minY, y); maxX = Math.max(maxX, x); maxY = Math.max(maxY, y)
  }
  return [[minX, minY], [maxX, maxY]]
}

export { maplibregl }
