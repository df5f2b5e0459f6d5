// Initial JS budgets: the gzip size of every script loaded by each app's index.html (entry
// <script type="module"> plus its <link rel="modulepreload"> dependencies). Lazy chunks (every
// volunteer screen, the HQ map with MapLibre and terra-draw) do not count.
// Prints {"initial_js_gzip_bytes": N, "hq_initial_js_gzip_bytes": M}; exits 1 over a budget:
//   volunteer app (dist/index.html) ≤ 150 kB, HQ console (dist/hq/index.html) ≤ 300 kB.
// Also fails if the volunteer app's initial scripts come from the HQ build.
import { readFileSync, existsSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist')
const BUDGETS = { volunteer: 150 * 1000, hq: 300 * 1000 }

function initial(htmlPath) {
  const html = readFileSync(htmlPath, 'utf8')
  const urls = new Set()
  for (const m of html.matchAll(/<script[^>]*\bsrc="([^"]+)"[^>]*>/g)) urls.add(m[1])
  for (const m of html.matchAll(/<link[^>]*rel="modulepreload"[^>]*>/g)) {
    const href = /href="([^"]+)"/.exec(m[0])
    if (href) urls.add(href[1])
  }
  let total = 0
  const files = {}
  for (const url of urls) {
    if (/^https?:/.test(url)) continue
    const path = join(dist, url.replace(/^\//, ''))
    if (!existsSync(path)) continue
    const size = gzipSync(readFileSync(path), { level: 9 }).length
    files[url] = size
    total += size
  }
  return { total, files }
}

const volunteer = initial(join(dist, 'index.html'))
const hqHtml = join(dist, 'hq', 'index.html')
const hq = existsSync(hqHtml) ? initial(hqHtml) : null
const out = { initial_js_gzip_bytes: volunteer.total }
if (hq) out.hq_initial_js_gzip_bytes = hq.total
if (process.argv.includes('--verbose')) Object.assign(out, { files: volunteer.files, hq_files: hq?.files })
console.log(JSON.stringify(out))

const problems = []
if (volunteer.total > BUDGETS.volunteer) problems.push(`volunteer initial JS ${volunteer.total} B > ${BUDGETS.volunteer} B`)
if (Object.keys(volunteer.files).some((u) => u.startsWith('/hq/'))) problems.push('the volunteer app loads HQ code')
if (hq && hq.total > BUDGETS.hq) problems.push(`HQ initial JS ${hq.total} B > ${BUDGETS.hq} B`)
if (problems.length) {
  console.error('size: ' + problems.join('; '))
  process.exit(1)
}
