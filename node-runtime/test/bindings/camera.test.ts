// The camera contract on SimCamera and on RaspistillCamera with node-raspistill running for real against a fake
// `raspistill` program first on PATH, plus the zxing-wasm QR scanner on the frames they produce.
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import {
  type Camera,
  CameraError,
  decodeImageFile,
  QrScanner,
  RaspistillCamera,
  renderQrFrame,
  SimCamera,
} from '../../src/bindings/camera/index.js'

const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:'
/** A payment-sized QR text: `OPG1:` + Base45-alphabet characters, 470 in all (QR version 13 at ECC M). */
function paymentText(seed = 7): string {
  let s = 'OPG1:'
  let x = seed
  while (s.length < 470) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    s += ALNUM[x % 45]
  }
  return s
}

const scanner = new QrScanner()
t.before(() => scanner.start())
t.teardown(() => scanner.stop())

/**
 * A fake `raspistill` that logs its arguments and behaves like the real one: waits the -t time, writes the
 * image to "<out>~", then renames it to <out>.
 */
async function fakeRaspistill(t: Test, mode: 'ok' | 'fail' | 'hang' = 'ok') {
  const bin = await mkdtemp(join(tmpdir(), 'opg-fake-raspistill-'))
  const image = join(bin, 'scene.png')
  const log = join(bin, 'args.log')
  const body = {
    ok: 'cp "$IMAGE" "$out~" && mv "$out~" "$out"',
    fail: 'echo "mmal: Failed to create camera component" >&2; exit 70',
    // exec, so the SIGTERM from node-raspistill reaches the sleeping process itself.
    hang: 'exec sleep 30',
  }[mode]
  await writeFile(
    join(bin, 'raspistill'),
    `#!/bin/sh
IMAGE='${image}'
printf '%s ' "$@" >> '${log}'
echo >> '${log}'
out=""
ms=0
while [ $# -gt 0 ]; do
  case "$1" in -o) out="$2" ;; -t) ms="$2" ;; esac
  shift
done
# Like the real program, the shot is taken only after the -t preview time.
sleep "$(awk "BEGIN { print $ms / 1000 }")"
${body}
`,
  )
  await chmod(join(bin, 'raspistill'), 0o755)
  const oldPath = process.env.PATH
  process.env.PATH = `${bin}:${oldPath}`
  t.teardown(async () => {
    process.env.PATH = oldPath
    await rm(bin, { recursive: true, force: true })
  })
  return {
    show: (text: string | null) => writeFile(image, renderQrFrame(text, { offsetX: -120, offsetY: 40 })),
    args: async () => (await readFile(log, 'utf8').catch(() => '')).trim().split('\n'),
  }
}

interface Target {
  camera: Camera
  show(text: string | null): Promise<void>
}

const targets: Record<string, (t: Test) => Promise<Target>> = {
  sim: async () => {
    const camera = new SimCamera()
    return {
      camera,
      show: async (text) => (text === null ? camera.showNothing() : camera.showQr(text, { offsetX: 150 })),
    }
  },
  raspistill: async (t) => {
    const fake = await fakeRaspistill(t)
    return { camera: new RaspistillCamera({ encoding: 'png' }), show: fake.show }
  },
}

for (const [name, make] of Object.entries(targets)) {
  t.test(`camera contract: ${name}`, async (t) => {
    t.test('a captured frame of a phone showing a payment QR decodes to its text', async (t) => {
      const { camera, show } = await make(t)
      await camera.start()
      t.teardown(() => camera.stop())
      const text = paymentText()
      await show(text)
      const frame = await camera.capture()
      t.equal(frame.mime, 'image/png')
      t.equal(await scanner.decode(frame.bytes), text)
    })

    t.test('a frame with no QR decodes to null', async (t) => {
      const { camera, show } = await make(t)
      await camera.start()
      t.teardown(() => camera.stop())
      await show(null)
      t.equal(await scanner.decode((await camera.capture()).bytes), null)
    })

    t.test('overlapping captures are served one after the other', async (t) => {
      const { camera, show } = await make(t)
      await camera.start()
      t.teardown(() => camera.stop())
      await show('OPG1:SHORT')
      const frames = await Promise.all([camera.capture(), camera.capture()])
      for (const f of frames) t.equal(await scanner.decode(f.bytes), 'OPG1:SHORT')
    })

    t.test('capture needs start and fails after stop', async (t) => {
      const { camera } = await make(t)
      await t.rejects(camera.capture(), { code: 'NOT_STARTED' })
      await camera.start()
      await camera.stop()
      await t.rejects(camera.capture(), { code: 'NOT_STARTED' })
    })
  })
}

t.test('raspistill: arguments, private output directory, frames deleted after reading', async (t) => {
  const fake = await fakeRaspistill(t)
  const outputDir = await mkdtemp(join(tmpdir(), 'opg-camera-out-'))
  t.teardown(() => rm(outputDir, { recursive: true, force: true }))
  const camera = new RaspistillCamera({ encoding: 'png', width: 1280, height: 720, outputDir })
  await camera.start()
  t.teardown(() => camera.stop())
  await fake.show('OPG1:ARGS')
  await camera.capture()
  const [args] = await fake.args()
  t.match(args, /-n\b/, 'no preview window')
  t.match(args, /-e png/)
  t.match(args, /-w 1280/)
  t.match(args, /-h 720/)
  t.match(args, new RegExp(`-o ${outputDir}/frame-[0-9-]+\\.png`))
  t.same(await readdir(outputDir), [], 'frame removed after reading')
})

t.test('raspistill: a failing camera program is a CAPTURE_FAILED error that keeps its cause', async (t) => {
  await fakeRaspistill(t, 'fail')
  const camera = new RaspistillCamera({ encoding: 'png' })
  await camera.start()
  t.teardown(() => camera.stop())
  const err = await camera.capture().catch((e: unknown) => e)
  t.ok(err instanceof CameraError)
  t.equal((err as CameraError).code, 'CAPTURE_FAILED')
  t.ok((err as CameraError).cause, 'original error kept as cause')
})

t.test('raspistill: a hung camera program times out and is killed', async (t) => {
  await fakeRaspistill(t, 'hang')
  const camera = new RaspistillCamera({ encoding: 'png', captureTimeoutMs: 300 })
  await camera.start()
  t.teardown(() => camera.stop())
  await t.rejects(camera.capture(), { code: 'CAPTURE_TIMEOUT' })
})

t.test('scanner: image files, hard frames, non-images', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'opg-scan-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const text = paymentText(99)
  const file = join(dir, 'phone.png')
  await writeFile(file, renderQrFrame(text, { moduleSize: 4, offsetX: 400, offsetY: -150, noise: 20 }))
  t.equal(await decodeImageFile(file), text, 'small, off-centre and noisy')
  t.equal(await decodeImageFile(file, scanner), text, 'with a shared scanner')
  await t.rejects(scanner.decode(new TextEncoder().encode('not an image')), { code: 'UNKNOWN_FORMAT' })
  t.equal(await scanner.decode(renderQrFrame(null)), null, 'a frame with no code in it')
  await t.rejects(new QrScanner().decode(renderQrFrame(null)), { code: 'NOT_STARTED' })
})
