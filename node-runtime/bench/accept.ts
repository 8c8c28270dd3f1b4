/**
 * Acceptance cost from a camera frame to a durable payment: decode a 1280×720 QR frame (zxing-wasm), open the
 * HPKE envelope, verify certificate and token, check the ledger rules, sign the receipt and append to the file
 * vault (fdatasync). Frames are rendered beforehand (that is the camera's work, not the box's).
 * Same-run baselines: the bare decrypt + verify of the same tokens, and the decode alone.
 * Run: npm run bench -w node-runtime
 */
import { mkdtemp, rm } from 'node:fs/promises'
import os, { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeQrText, decodeToken, deriveKey, id8ToBytes, openEnvelope, verifyToken } from '@opg/protocol'
import { Acceptor } from '../src/accept/acceptor.js'
import { VaultView } from '../src/accept/ledger.js'
import { protocolVerifier } from '../src/accept/protocol-verifier.js'
import { QrScanner, renderQrFrame } from '../src/bindings/camera/index.js'
import { FileVault } from '../src/vault/file-vault.js'
import { c, FixedClock, MERCHANT, makeWorld, NOW_MS, qrFor, TestWallet } from '../test/accept/fixtures.js'

const N = Number(process.env.BENCH_N ?? 60)
const WARMUP = 5

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b)
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!
  return { median: q(0.5), p90: q(0.9), min: s[0]! }
}
const ms = (x: number) => `${x.toFixed(2)} ms`
const cpuMs = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

const world = makeWorld()
const dir = await mkdtemp(join(tmpdir(), 'opg-bench-accept-'))
const vault = await FileVault.open({
  dir,
  key: deriveKey(c, world.deviceSecret, 'vault', id8ToBytes(world.deviceId)),
})
const view = new VaultView(vault)
const acceptor = new Acceptor({
  verifier: protocolVerifier({
    c,
    issuerKeys: world.issuerKeys,
    merchantId: MERCHANT,
    deviceId: world.deviceId,
    encryption: world.nodeEncryption,
    signingSecret: world.nodeSigning.secretKey,
  }),
  vault,
  view,
  clock: new FixedClock(NOW_MS),
  policy: { maxUnsyncedTotal: 1e12, maxPerWalletPerDay: 1e12, currency: 'EUR' },
})
const scanner = new QrScanner()
await scanner.start()

// One wallet per payment (as at a shop counter), each frame a different code and noise seed.
const texts: string[] = []
const frames: Uint8Array[] = []
for (let i = 0; i < N + WARMUP; i++) {
  const text = qrFor(world, new TestWallet(world).token(100 + i))
  texts.push(text)
  frames.push(renderQrFrame(text, { seed: i + 1 }))
}

const total: number[] = []
const totalCpu: number[] = []
const decodeT: number[] = []
const acceptT: number[] = []
for (let i = 0; i < frames.length; i++) {
  const c0 = cpuMs()
  const t0 = performance.now()
  const text = await scanner.decode(frames[i]!)
  const t1 = performance.now()
  if (text !== texts[i]) throw new Error(`frame ${i} did not decode`)
  const out = await acceptor.accept({ qrText: text })
  const t2 = performance.now()
  const c1 = cpuMs()
  if (!out.ok) throw new Error(`payment ${i} refused: ${out.code}`)
  if (i < WARMUP) continue
  total.push(t2 - t0)
  totalCpu.push(c1 - c0)
  decodeT.push(t1 - t0)
  acceptT.push(t2 - t1)
}

// Baseline: decrypt + verify only (no decode, no ledger, no receipt, no disk), same tokens.
const bare: number[] = []
const nowS = Math.floor(NOW_MS / 1000)
for (const text of texts) {
  const t0 = performance.now()
  const token = decodeToken(openEnvelope(c, world.nodeEncryption, decodeQrText(text)))
  verifyToken(c, token, {
    issuerKeys: world.issuerKeys,
    nowS,
    merchantId: MERCHANT,
    deviceId: world.deviceId,
  })
  bare.push(performance.now() - t0)
}

await scanner.stop()
await vault.close()
await rm(dir, { recursive: true, force: true })

const cpus = os.cpus()
console.log(`acceptance: 1280×720 QR frame → durable payment (${N} payments, file vault with fdatasync)`)
console.log(
  `machine: ${cpus[0]?.model ?? '?'} ×${cpus.length}, Node ${process.version}, load ${os.loadavg()[0]!.toFixed(2)}`,
)
const row = (name: string, xs: number[]) => {
  const s = stats(xs)
  console.log(`  ${name.padEnd(44)} median ${ms(s.median).padStart(10)}  p90 ${ms(s.p90).padStart(10)}`)
}
row('frame → durable, CPU time (goal ≤ 15 ms)', totalCpu)
row('frame → durable, wall time', total)
row('  QR decode (zxing-wasm)', decodeT)
row('  accept: decrypt + verify + rules + commit', acceptT)
row('baseline: bare decrypt + verify', bare)
const ratio = stats(acceptT).median / stats(bare).median
console.log(
  `  accept ÷ bare decrypt+verify: ${ratio.toFixed(1)}× (the rest is ledger, receipt and fdatasync)`,
)
