/**
 * The broker dies mid-batch (a private Mosquitto, SIGKILLed and restarted without persistence): the node
 * reconnects with backoff, re-publishes what was not acked, and every payment ends up booked once and
 * settled once at the box.
 */
import t from 'tap'
import { childMosquitto, FakeBridge, freePort, waitFor } from './harness.js'
import { makeSyncRig, pay } from './setup.js'

t.test('broker restart mid-batch: all synced, none settled twice', async (t) => {
  const broker = childMosquitto(await freePort())
  const url = `mqtt://127.0.0.1:${broker.port}`
  await broker.up()
  const rig = makeSyncRig(url, { batchSize: 50, window: 2, ackTimeoutMs: 2_000 })
  const bridge = new FakeBridge(url)
  bridge.addDevice(rig.world.deviceId, rig.world.deviceSecret)
  bridge.ackDelayMs = 20
  await bridge.start()
  const ids = await pay(rig, 1_000)

  let settled = 0
  let offline = 0
  rig.engine.on('progress', (p) => {
    settled += p.acked
  })
  rig.engine.on('offline', () => offline++)
  rig.engine.start()
  t.teardown(async () => {
    await rig.engine.stop()
    await bridge.stop()
    await broker.down()
  })
  await waitFor(() => settled >= 200, 20_000, 'the first acks')
  t.ok(settled < 1_000, 'the broker dies with payments still in flight')

  await broker.down()
  await waitFor(() => offline > 0, 5_000, 'the node to notice')
  await new Promise((r) => setTimeout(r, 300))
  await broker.up()

  const done = await rig.engine.syncNow(30_000)
  t.equal(done.pendingCount, 0)
  t.equal(settled, 1_000, 'each payment settled exactly once at the box')
  t.same([...bridge.booked].sort(), [...ids].sort(), 'the bridge has every payment')
  t.equal(rig.vault.stats().unsyncedCount, 0)
})
