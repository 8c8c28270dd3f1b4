// The rpicam path for real: RaspistillCamera → node-raspistill → device-config/raspistill (the compatibility
// program) → a fake rpicam-still first on PATH streaming JPEG scenes of a phone showing a sealed payment QR →
// zxing-wasm → the Acceptor.
import { chmod, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import {
  CameraError,
  findCameraProgram,
  JpegStreamSplitter,
  QrScanner,
  RASPISTILL_COMPAT,
  RaspistillCamera,
} from '../../src/bindings/camera/index.js'
import { qrFor, TestWallet } from '../accept/fixtures.js'
import { makeRig } from '../accept/setup.js'
import { CONDITIONS, renderPhoneScene } from '../support/phone-scene.js'

const FAKE = fileURLToPath(new URL('../support/fake-rpicam-still.sh', import.meta.url))

const scanner = new QrScanner()
t.before(() => scanner.start())
t.teardown(() => scanner.stop())

/** A PATH holding only the fake rpicam-still (plus the system's tools); the scenes it photographs. */
async function rpicamOnPath(t: Test) {
  const bin = await mkdtemp(join(tmpdir(), 'opg-fake-rpicam-'))
  const scenes = join(bin, 'scenes')
  await rm(scenes, { recursive: true, force: true })
  await import('node:fs/promises').then((fs) => fs.mkdir(scenes))
  await symlink(FAKE, join(bin, 'rpicam-still'))
  const log = join(bin, 'args.log')
  const saved = { PATH: process.env.PATH, S: process.env.FAKE_RPICAM_SCENES, L: process.env.FAKE_RPICAM_LOG }
  process.env.PATH = `${bin}:/usr/bin:/bin`
  process.env.FAKE_RPICAM_SCENES = scenes
  process.env.FAKE_RPICAM_LOG = log
  t.teardown(async () => {
    process.env.PATH = saved.PATH
    if (saved.S === undefined) delete process.env.FAKE_RPICAM_SCENES
    else process.env.FAKE_RPICAM_SCENES = saved.S
    if (saved.L === undefined) delete process.env.FAKE_RPICAM_LOG
    else process.env.FAKE_RPICAM_LOG = saved.L
    await rm(bin, { recursive: true, force: true })
  })
  return {
    bin,
    show: (jpeg: Uint8Array) => writeFile(join(scenes, 'scene.jpg'), jpeg),
    runs: async () => (await readFile(log, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean),
  }
}

t.test('the binding finds the compatibility program when only rpicam-still is installed', async (t) => {
  const fake = await rpicamOnPath(t)
  t.equal(findCameraProgram(), RASPISTILL_COMPAT)
  t.equal(findCameraProgram('/opt/cam'), '/opt/cam', 'an explicit program wins')
  await writeFile(join(fake.bin, 'raspistill'), '#!/bin/sh\n')
  await chmod(join(fake.bin, 'raspistill'), 0o755)
  t.equal(
    findCameraProgram(),
    join(fake.bin, 'raspistill'),
    'a raspistill on PATH (legacy or installed) wins',
  )
  process.env.PATH = '/nonexistent'
  t.throws(
    () => findCameraProgram(),
    new CameraError(
      'NO_CAMERA_PROGRAM',
      'no camera program: install rpicam-apps (rpicam-still) or raspistill',
    ),
  )
})

t.test('the compatibility program maps raspistill options to rpicam-still', async (t) => {
  const fake = await rpicamOnPath(t)
  const { execFileSync, spawnSync } = await import('node:child_process')
  const outDir = await mkdtemp(join(tmpdir(), 'opg-compat-out-'))
  t.teardown(() => rm(outDir, { recursive: true, force: true }))
  await fake.show(renderPhoneScene('OPG1:TEST', 'clean', { width: 320, height: 240 }))
  const out = join(outDir, 'f.jpg')
  execFileSync(RASPISTILL_COMPAT, [
    '-vf',
    '-hf',
    '-n',
    '-e',
    'jpg',
    '-w',
    '640',
    '-h',
    '480',
    '-t',
    '50',
    '-q',
    '90',
    '-ISO',
    '200',
    '-co',
    '20',
    '-br',
    '60',
    '-sa',
    '-50',
    '-awb',
    'sun',
    '-ex',
    'sports',
    '-rot',
    '180',
    '-fli',
    'auto',
    '-o',
    out,
  ])
  const [run] = await fake.runs()
  t.equal(
    run,
    `--vflip --hflip --nopreview --encoding jpg --width 640 --height 480 --timeout 50 --quality 90 --gain 2.000 ` +
      `--contrast 1.200 --brightness 0.200 --saturation 0.500 --awb daylight --exposure sport --rotation 180 --output ${out}~`,
  )
  t.same(
    (await readFile(out)).subarray(0, 3),
    Buffer.from([0xff, 0xd8, 0xff]),
    'the frame is renamed into place',
  )
  const bad = spawnSync(RASPISTILL_COMPAT, ['-zz', '1', '-o', out])
  t.equal(bad.status, 64, 'an option it cannot map is refused, not silently dropped')
})

t.test('warm mode: one camera run streams frames; a sealed payment QR is decoded and accepted', async (t) => {
  const fake = await rpicamOnPath(t)
  const rig = makeRig()
  const text = qrFor(rig.world, new TestWallet(rig.world).token(250))
  await fake.show(renderPhoneScene(text, 'clean', { seed: 3 }))
  const camera = new RaspistillCamera({ mode: 'warm', intervalMs: 30, captureTimeoutMs: 20_000 })
  await camera.start()
  t.teardown(() => camera.stop())
  for (let i = 0; i < 3; i++) {
    const frame = await camera.capture()
    t.equal(frame.mime, 'image/jpeg')
    t.equal(await scanner.decode(frame.bytes), text, `frame ${i} decodes`)
  }
  const out = await rig.acceptor.accept({ qrText: text })
  t.ok(out.ok, 'the box accepts the payment')
  const runs = await fake.runs()
  t.equal(runs.length, 1, 'the camera was started once for all frames')
  t.match(runs[0], /--nopreview --encoding jpg .*--timeout 0 .*--timelapse 30 --output -$/)
  await camera.stop()
  await t.rejects(camera.capture(), { code: 'NOT_STARTED' })
})

t.test('JPEG frames under shop conditions decode through the binding', async (t) => {
  const fake = await rpicamOnPath(t)
  const rig = makeRig()
  const camera = new RaspistillCamera({ mode: 'warm', intervalMs: 30, captureTimeoutMs: 20_000 })
  await camera.start()
  t.teardown(() => camera.stop())
  for (const [i, condition] of CONDITIONS.entries()) {
    const text = qrFor(rig.world, new TestWallet(rig.world).token(100 + i))
    await fake.show(renderPhoneScene(text, condition, { seed: 11 }))
    // Frames already in flight may show the previous scene; the new one arrives within a few frames.
    let got: string | null = null
    for (let k = 0; k < 6 && got !== text; k++) got = await scanner.decode((await camera.capture()).bytes)
    t.equal(got, text, `${condition}: decoded`)
  }
})

t.test('still mode through the compatibility program', async (t) => {
  const fake = await rpicamOnPath(t)
  const text = 'OPG1:STILL-MODE-FRAME'
  await fake.show(renderPhoneScene(text, 'clean', { seed: 5 }))
  const camera = new RaspistillCamera({ timeMs: 10 })
  await camera.start()
  t.teardown(() => camera.stop())
  const frame = await camera.capture()
  t.equal(frame.mime, 'image/jpeg')
  t.equal(await scanner.decode(frame.bytes), text)
})

t.test('the stream splitter reassembles JPEGs from any chunking, skipping noise between them', async (t) => {
  const a = renderPhoneScene('OPG1:A', 'clean', { width: 160, height: 120, seed: 1 })
  const b = renderPhoneScene('OPG1:B', 'glare', { width: 160, height: 120, seed: 2 })
  const stream = Buffer.concat([Buffer.from('garbage\xff'), a, b, Buffer.from([0xff, 0xd8, 0xff, 0xe0])])
  for (const size of [1, 7, 4096, stream.length]) {
    const s = new JpegStreamSplitter()
    const frames: Uint8Array[] = []
    for (let i = 0; i < stream.length; i += size) frames.push(...s.push(stream.subarray(i, i + size)))
    t.equal(frames.length, 2, `chunks of ${size}`)
    t.same(Buffer.from(frames[0]!), Buffer.from(a))
    t.same(Buffer.from(frames[1]!), Buffer.from(b))
  }
})
