/**
 * The camera path as the box runs it: RaspistillCamera in warm mode → node-raspistill → device-config/raspistill
 * → rpicam-still (here the fake of test/support, streaming pre-rendered JPEG scenes of a phone showing a sealed
 * payment QR) → zxing-wasm → Acceptor.
 * - decode success rate per shop condition (clean, blur, rotation, perspective, low contrast, glare);
 * - frames/s decoded through the binding while warm, against two same-run baselines: decoding the same JPEG
 *   bytes from memory (the decoder's ceiling) and still mode (one camera run per frame);
 * - frame-to-acceptance latency: from the binding handing over a frame to the payment accepted.
 * Usage: tsx bench/camera-rpicam.ts [framesPerCondition] [seconds]
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import os, { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { QrScanner, RaspistillCamera } from '../src/bindings/camera/index.js'
import { qrFor, TestWallet } from '../test/accept/fixtures.js'
import { makeRig } from '../test/accept/setup.js'
import { CONDITIONS, renderPhoneScene } from '../test/support/phone-scene.js'

const perCondition = Number(process.argv[2] ?? 20)
const seconds = Number(process.argv[3] ?? 5)

const bin = await mkdtemp(join(tmpdir(), 'opg-bench-camera-'))
const scenes = join(bin, 'scenes')
await mkdir(scenes)
await symlink(
  fileURLToPath(new URL('../test/support/fake-rpicam-still.sh', import.meta.url)),
  join(bin, 'rpicam-still'),
)
process.env.PATH = `${bin}:/usr/bin:/bin`
process.env.FAKE_RPICAM_SCENES = scenes

const rig = makeRig({ maxUnsyncedTotal: 1e12, maxPerWalletPerDay: 1e12 })
const scanner = new QrScanner()
await scanner.start()

// 1. Decode success per condition, each frame a different wallet, placement and noise.
const rates: Record<string, { ok: number; n: number }> = {}
const samples: { jpeg: Uint8Array; text: string }[] = []
let seed = 1
for (const condition of CONDITIONS) {
  let ok = 0
  for (let i = 0; i < perCondition; i++) {
    const text = qrFor(rig.world, new TestWallet(rig.world).token(100 + seed))
    const jpeg = renderPhoneScene(text, condition, { seed: seed++ })
    if ((await scanner.decode(jpeg)) === text) ok++
    if (condition === 'clean' && samples.length < 8) samples.push({ jpeg, text })
  }
  rates[condition] = { ok, n: perCondition }
}

// 2. Frames/s. Baseline A: the same JPEG bytes decoded from memory.
async function decodeLoop(next: () => Promise<Uint8Array>): Promise<{ fps: number; decoded: number }> {
  const end = performance.now() + seconds * 1000
  const t0 = performance.now()
  let decoded = 0
  while (performance.now() < end) if (await scanner.decode(await next())) decoded++
  return { fps: decoded / ((performance.now() - t0) / 1000), decoded }
}
let k = 0
const memory = await decodeLoop(async () => samples[k++ % samples.length]!.jpeg)

for (const [i, s] of samples.entries()) await writeFile(join(scenes, `s${i}.jpg`), s.jpeg)
const warmCam = new RaspistillCamera({ mode: 'warm', intervalMs: 50 })
await warmCam.start()
await warmCam.capture() // the first frame pays the start-up
const warm = await decodeLoop(async () => (await warmCam.capture()).bytes)

// 3. Frame-to-acceptance: a fresh payment on screen each time; timed from the frame's arrival.
const latency: number[] = []
for (let i = 0; i < 20; i++) {
  const text = qrFor(rig.world, new TestWallet(rig.world).token(200 + i))
  await rm(scenes, { recursive: true, force: true })
  await mkdir(scenes)
  await writeFile(join(scenes, 'pay.jpg'), renderPhoneScene(text, 'clean', { seed: 900 + i }))
  for (;;) {
    const frame = await warmCam.capture()
    const t0 = performance.now()
    if ((await scanner.decode(frame.bytes)) !== text) continue
    const out = await rig.acceptor.accept({ qrText: text })
    if (!out.ok) throw new Error(`payment refused: ${out.code}`)
    latency.push(performance.now() - t0)
    break
  }
}
await warmCam.stop()

// Baseline B: still mode, one camera run per frame (the fake has no sensor start-up; a Pi adds ~1 s per run).
for (const [i, s] of samples.entries()) await writeFile(join(scenes, `s${i}.jpg`), s.jpeg)
const stillCam = new RaspistillCamera({ timeMs: 1 })
await stillCam.start()
const still = await decodeLoop(async () => (await stillCam.capture()).bytes)
await stillCam.stop()
await scanner.stop()
await rm(bin, { recursive: true, force: true })

latency.sort((a, b) => a - b)
const cpu = os.cpus()[0]?.model ?? 'unknown cpu'
console.log(`camera-rpicam: 1280×720 JPEG (jpeg-js q85), sealed payment QR, ${os.cpus().length}× ${cpu}`)
for (const [c, r] of Object.entries(rates))
  console.log(`  decode ${c.padEnd(13)} ${((100 * r.ok) / r.n).toFixed(0).padStart(3)} % (${r.ok}/${r.n})`)
console.log(
  `  warm binding     ${warm.fps.toFixed(1)} frames/s decoded   ×${(warm.fps / memory.fps).toFixed(2)} of in-memory decode (${memory.fps.toFixed(1)}/s)`,
)
console.log(
  `  still mode       ${still.fps.toFixed(1)} frames/s decoded   ×${(still.fps / memory.fps).toFixed(2)} of in-memory decode`,
)
console.log(
  `  frame → accepted median ${latency[Math.floor(latency.length / 2)]!.toFixed(1)} ms, max ${latency[latency.length - 1]!.toFixed(1)} ms (${latency.length} payments)`,
)
