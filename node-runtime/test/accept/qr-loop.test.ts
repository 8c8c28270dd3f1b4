/**
 * The camera loop: a phone held in front of the (simulated) camera is decoded and paid once, even though it
 * stays in view for several frames; the next customer's code is paid too.
 */
import t from 'tap'
import type { AcceptOutcome } from '../../src/accept/acceptor.js'
import { QrAcceptLoop } from '../../src/accept/qr-loop.js'
import { QrScanner, SimCamera } from '../../src/bindings/camera/index.js'
import { waitFor } from '../sync/harness.js'
import { qrFor, TestWallet } from './fixtures.js'
import { makeRig } from './setup.js'

t.test('a QR held in view is paid once; the next one is paid too', async (t) => {
  const rig = makeRig()
  const camera = new SimCamera()
  const outcomes: AcceptOutcome[] = []
  const loop = new QrAcceptLoop({
    camera,
    scanner: new QrScanner({ tryHarder: false }),
    acceptor: rig.acceptor,
    idleMs: 10,
    onOutcome: (o) => outcomes.push(o),
  })
  await loop.start()
  t.teardown(() => loop.stop())
  const w = new TestWallet(rig.world)
  camera.showQr(qrFor(rig.world, w.token(300)))
  await waitFor(() => outcomes.length === 1, 20_000, 'the first payment')
  const seen = camera.captures
  await waitFor(() => camera.captures >= seen + 3, 20_000, 'more frames of the same phone')
  t.equal(outcomes.length, 1, 'no second (replay) outcome for the same code')
  camera.showQr(qrFor(rig.world, w.token(200)))
  await waitFor(() => outcomes.length === 2, 20_000, 'the second payment')
  t.same(
    outcomes.map((o) => o.ok),
    [true, true],
  )
  t.equal(rig.vault.stats().unsyncedCount, 2)
})
