// Generates the maskable app icons (public/icons/icon-192.png, icon-512.png) with no dependency:
// a full-bleed purple square with a white "G" kept inside the maskable safe zone (radius 40%).
import { deflateSync } from 'node:zlib'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'public', 'icons')
const BG = [0x4f, 0x37, 0x8b]
const FG = [0xff, 0xff, 0xff]

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})
function crc32(buf) {
  let c = 0xffffffff
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}
function chunk(type, data) {
  const len = Buffer.alloc(4)
  len.writeUInt32BE(data.length)
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(td))
  return Buffer.concat([len, td, crc])
}

/** Coverage of the "G" glyph at (x, y) in unit coordinates centred on 0. */
function inG(x, y) {
  const r = Math.hypot(x, y)
  const angle = Math.atan2(y, x) // 0 = right, positive = down (screen coords)
  const ring = r >= 0.2 && r <= 0.3 && !(angle < 0.05 && angle > -0.75)
  const bar = y >= -0.03 && y <= 0.05 && x >= 0.02 && x <= 0.3
  const stem = x >= 0.22 && x <= 0.3 && y >= -0.03 && y <= 0.16
  return ring || bar || (stem && r <= 0.3)
}

function icon(size) {
  const raw = Buffer.alloc((size * 3 + 1) * size)
  const ss = 4
  for (let py = 0; py < size; py++) {
    raw[py * (size * 3 + 1)] = 0
    for (let px = 0; px < size; px++) {
      let hits = 0
      for (let sy = 0; sy < ss; sy++)
        for (let sx = 0; sx < ss; sx++) {
          const x = (px + (sx + 0.5) / ss) / size - 0.5
          const y = (py + (sy + 0.5) / ss) / size - 0.5
          if (inG(x, y)) hits++
        }
      const a = hits / (ss * ss)
      const o = py * (size * 3 + 1) + 1 + px * 3
      for (let c = 0; c < 3; c++) raw[o + c] = Math.round(BG[c] * (1 - a) + FG[c] * a)
    }
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(size, 0)
  ihdr.writeUInt32BE(size, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 2 // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

mkdirSync(OUT, { recursive: true })
for (const size of [192, 512]) {
  writeFileSync(join(OUT, `icon-${size}.png`), icon(size))
  console.log(`wrote icons/icon-${size}.png`)
}
