/**
 * How long the box needs to find and decode a payment QR in one camera frame: the median zxing-wasm decode of a
 * 1280×720 PNG holding a 470-character alphanumeric QR (version 13, ECC M — the size of an `OPG1:` token),
 * against two baselines measured in the same run: a version-2 QR in the same frame, and a frame with no QR
 * (PNG decode + binarisation + a fruitless search). Ratios are what to compare across machines.
 * Usage: tsx bench/qr-decode.ts [iterations]
 */
import { QrScanner, qrVersion, renderQrFrame } from '../src/bindings/camera/index.js'

const iterations = Number(process.argv[2] ?? 25)
const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:'

function alnumText(length: number, seed: number): string {
  let s = 'OPG1:'
  let x = seed
  while (s.length < length) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    s += ALNUM[x % 45]
  }
  return s
}

const big = alnumText(470, 7)
const small = alnumText(30, 11)
if (qrVersion(big) !== 13 || qrVersion(small) !== 2)
  throw new Error('test texts no longer give versions 13 and 2')

const frames = {
  'v13-M, 470 chars': { png: renderQrFrame(big, { offsetX: 90, offsetY: -40 }), expect: big },
  'v2-M, 30 chars': { png: renderQrFrame(small, { offsetX: 90, offsetY: -40 }), expect: small },
  'no QR': { png: renderQrFrame(null), expect: null },
}

const scanner = new QrScanner()
const t0 = performance.now()
await scanner.start()
const initMs = performance.now() - t0

const medians: Record<string, number> = {}
for (const [name, f] of Object.entries(frames)) {
  for (let i = 0; i < 3; i++) await scanner.decode(f.png) // warm-up: JIT and wasm memory growth
  const times: number[] = []
  for (let i = 0; i < iterations; i++) {
    const s = performance.now()
    const text = await scanner.decode(f.png)
    times.push(performance.now() - s)
    if (text !== f.expect) throw new Error(`${name}: decoded ${JSON.stringify(text?.slice(0, 20))}`)
  }
  times.sort((a, b) => a - b)
  medians[name] = times[Math.floor(times.length / 2)]!
}
await scanner.stop()

const base = medians['no QR']!
const v2 = medians['v2-M, 30 chars']!
console.log(`qr-decode: 1280x720 PNG, ${iterations} iterations, zxing-wasm init ${initMs.toFixed(1)} ms`)
for (const [name, ms] of Object.entries(medians)) {
  console.log(
    `  ${name.padEnd(18)} median ${ms.toFixed(1).padStart(7)} ms   ×${(ms / base).toFixed(2)} of no-QR   ×${(ms / v2).toFixed(2)} of v2`,
  )
}
