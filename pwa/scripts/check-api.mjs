// Fails (exit 1) when src/api/schema.d.ts is stale relative to openapi.json.
// Regenerates into a temporary file with openapi-typescript and compares byte for byte.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const committed = join(root, 'src', 'api', 'schema.d.ts')
const dir = mkdtempSync(join(tmpdir(), 'gg-api-'))
const fresh = join(dir, 'schema.d.ts')
try {
  const bin = join(root, 'node_modules', '.bin', 'openapi-typescript')
  execFileSync(bin, [join(root, 'openapi.json'), '-o', fresh], { stdio: 'pipe' })
  const a = existsSync(committed) ? readFileSync(committed, 'utf8') : ''
  const b = readFileSync(fresh, 'utf8')
  if (a !== b) {
    console.error('check:api: src/api/schema.d.ts is stale relative to openapi.json. Run `npm run gen:api` in pwa/.')
    process.exit(1)
  }
  console.log('check:api: generated client is up to date')
} finally {
  rmSync(dir, { recursive: true, force: true })
}
