import { describe, expect, it } from 'vitest'
import { cellsToArea } from '../src/hq/dashboard/cells'
import { safeCell, toCsv } from '../src/hq/dashboard/csv'

describe('chart CSV', () => {
  it('neutralises every cell a spreadsheet would run, as the server does, and keeps plain numbers', () => {
    for (const bad of ['=HYPERLINK("http://x")', '+SUM(A1)', '-2+3', '@cmd', '\tx', '\rx', '=1'])
      expect(safeCell(bad)).toBe("'" + bad)
    for (const ok of ['-12.5', '+40722123456', '12', 'Pensions', 'a=b']) expect(safeCell(ok)).toBe(ok)
    expect(safeCell(-3)).toBe('-3')
    expect(safeCell(null)).toBe('')
  })

  it('writes RFC 4180 rows with quotes where needed, the neutralised cell quoted whole', () => {
    const csv = toCsv(['answer', 'count'], [['=cmd|"/c calc"!A0', 3], ['Yes, a lot', 12], ['Pensie', 0]])
    expect(csv).toBe('answer,count\r\n"\'=cmd|""/c calc""!A0",3\r\n"Yes, a lot",12\r\nPensie,0\r\n')
  })
})

describe('picked hexagons to one area', () => {
  // Two unit squares side by side and one apart: shared edges vanish, the lone one stays a second piece.
  const sq = (x: number, y: number): number[][] => [[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1], [x, y]]
  it('joins neighbours into one polygon without their shared edge', () => {
    const a = cellsToArea([sq(0, 0), sq(1, 0)])
    expect(a?.type).toBe('Polygon')
    const ring = (a!.coordinates as number[][][])[0]!
    expect(ring.length).toBe(7) // 6 corners + closing point
    expect(ring.some((p) => p[0] === 1 && p[1] === 0.5)).toBe(false)
  })
  it('keeps cells that do not touch as separate pieces of a MultiPolygon, and a ring of cells has its hole', () => {
    expect(cellsToArea([sq(0, 0), sq(5, 5)])?.type).toBe('MultiPolygon')
    const around = [sq(0, 0), sq(1, 0), sq(2, 0), sq(0, 1), sq(2, 1), sq(0, 2), sq(1, 2), sq(2, 2)]
    const a = cellsToArea(around)
    expect(a?.type).toBe('Polygon')
    expect((a!.coordinates as number[][][]).length).toBe(2) // outer ring and the hole
    expect(cellsToArea([])).toBeNull()
  })
})
