// CSV made in the browser (a chart's numbers): the same rule as the server's app/core/csvout.py. A cell a
// spreadsheet would run as a formula (starting with =, +, -, @, a tab or a carriage return: OWASP's list) gets a
// leading apostrophe so it shows as text; a plain number (-12.5, +40722123456) cannot carry a formula and is kept.
export const FORMULA_START = ['=', '+', '-', '@', '\t', '\r']
const NUMBER = /^[+-]?[0-9]+(\.[0-9]+)?$/

export type Cell = string | number | boolean | null | undefined

export function safeCell(v: Cell): string {
  if (v === null || v === undefined) return ''
  const s = String(v)
  if (typeof v === 'string' && FORMULA_START.some((c) => s.startsWith(c)) && !NUMBER.test(s)) return "'" + s
  return s
}

/** RFC 4180: quoted when needed, CRLF line ends; every cell neutralised first. */
export function toCsv(header: string[], rows: Cell[][]): string {
  const quote = (s: string): string => (/[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s)
  return [header, ...rows].map((r) => r.map((c) => quote(safeCell(c))).join(',')).join('\r\n') + '\r\n'
}

export function downloadCsv(filename: string, header: string[], rows: Cell[][]): void {
  // A BOM so spreadsheet programs read the UTF-8 (Romanian and French labels) correctly.
  const blob = new Blob(['\ufeff' + toCsv(header, rows)], { type: 'text/csv;charset=utf-8' })
  const a = document.createElement('a')
  a.href = URL.createObjectURL(blob)
  a.download = filename
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000)
}
