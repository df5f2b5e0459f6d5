// Prints {"initial_js_gzip_bytes": N}: the gzip size of every script loaded by dist/index.html
// (entry <script type="module"> plus its <link rel="modulepreload"> dependencies).
import { readFileSync, existsSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist')
const html = readFileSync(join(dist, 'index.html'), 'utf8')
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
const out = { initial_js_gzip_bytes: total }
if (process.argv.includes('--verbose')) Object.assign(out, { files })
console.log(JSON.stringify(out))
