/**
 * No resend storm (issue "no resend storm on a paid link"): the wait for an ack doubles after each expiry up
 * to a cap, with jitter from an injected source (so the schedule is asserted exactly, not timed), and a
 * re-send keeps the batch id and bytes. Engine cases on aedes and on Mosquitto, with a bridge that stops
 * acking; they assert what was sent, never how long it took.
 */
import t from 'tap'
import { ackWaitMs, resendSchedule } from '../../src/sync/resend-backoff.js'
import { aedesBroker, FakeBridge, freePort, systemMosquitto, type TestBroker, waitFor } from './harness.js'
import { makeSyncRig, pay } from './setup.js'

t.test('the wait doubles to the cap; jitter only shortens it, within its fraction', async (t) => {
  const p = { ackTimeoutMs: 15_000, maxMs: 600_000 }
  const waits = (random: () => number) => Array.from({ length: 9 }, (_, i) => ackWaitMs(i, p, random))
  t.same(
    waits(() => 0),
    [15_000, 30_000, 60_000, 120_000, 240_000, 480_000, 600_000, 600_000, 600_000],
  )
  t.same(
    waits(() => 1),
    [12_000, 24_000, 48_000, 96_000, 192_000, 384_000, 480_000, 480_000, 480_000],
    'the full jitter takes 20 % off',
  )
  t.equal(
    ackWaitMs(3, { ...p, jitter: 0.5 }, () => 0.5),
    90_000,
    'a custom jitter fraction',
  )
  t.equal(
    ackWaitMs(1000, p, () => 0),
    600_000,
    'no overflow far out',
  )
  t.equal(
    ackWaitMs(0, p, () => 7),
    12_000,
    'a random source out of range is clamped',
  )
})

t.test('an hour with the bridge down: a few sends per batch, not one every ack timeout', async (t) => {
  const hour = 3_600_000
  const backoff = resendSchedule(hour, { ackTimeoutMs: 15_000, maxMs: 600_000 }, () => 0)
  t.same(
    backoff,
    [0, 15_000, 45_000, 105_000, 225_000, 465_000, 945_000, 1_545_000, 2_145_000, 2_745_000, 3_345_000],
  )
  const fixed = resendSchedule(hour, { ackTimeoutMs: 15_000, maxMs: 15_000 }, () => 0)
  t.equal(fixed.length, 241, 'the old fixed period: every 15 s')
  t.ok(backoff.length * 20 < fixed.length, `${backoff.length} sends instead of ${fixed.length}`)
})

const targets: ((port: number) => TestBroker)[] = [aedesBroker, systemMosquitto]
for (const make of targets) {
  t.test(`re-sends keep the batch id (${make(0).name})`, async (t) => {
    const broker = make(await freePort())
    await broker.up()
    const url = `mqtt://127.0.0.1:${broker.port}`
    // Pinned jitter: waits of 100, 200, 400, 400… ms. Nothing below depends on how long they take.
    const rig = makeSyncRig(url, { ackTimeoutMs: 100, resendMaxMs: 400, random: () => 0, window: 2 })
    const bridge = new FakeBridge(broker.bridgeUrl)
    bridge.addDevice(rig.world.deviceId, rig.world.deviceSecret)
    bridge.acking = false
    await bridge.start()
    t.teardown(async () => {
      await rig.engine.stop()
      await bridge.stop()
      await broker.down()
    })
    const ids = await pay(rig, 5)
    const sent: { batchId: string; attempt: number; count: number; bytes: number }[] = []
    rig.engine.on('published', (p) => sent.push(p))
    rig.engine.start()
    await waitFor(() => sent.length >= 4, 20_000, 'three re-sends')
    const batchIds = new Set(sent.map((s) => s.batchId))
    t.equal(batchIds.size, 1, 'one batch id for the first send and every re-send')
    t.same(
      sent.slice(0, 4).map((s) => s.attempt),
      [0, 1, 2, 3],
    )
    t.ok(
      sent.every((s) => s.bytes === sent[0]!.bytes && s.count === 5),
      'the same batch each time',
    )
    t.equal(rig.engine.resends, sent.length - 1)
    await waitFor(() => (bridge.deliveries.get(ids[0]!) ?? 0) >= 3, 10_000, 'the bridge to see them')

    bridge.acking = true // the bridge is back: the next re-send is acked
    const done = await rig.engine.syncNow(20_000)
    t.equal(done.pendingCount, 0)
    t.equal(new Set(sent.map((s) => s.batchId)).size, 1, 'settled under the same batch id, no new one')
  })
}

t.test(
  'a broker that lost the session gets every batch in flight again at once, same id (aedes)',
  async (t) => {
    const broker = aedesBroker(await freePort())
    await broker.up()
    const url = `mqtt://127.0.0.1:${broker.port}`
    // Waits 100, 200, 400… ms up to 100 s: after a few expiries the next re-send is far away.
    const rig = makeSyncRig(url, { ackTimeoutMs: 100, resendMaxMs: 100_000, random: () => 0 })
    const bridge = new FakeBridge(broker.bridgeUrl)
    bridge.addDevice(rig.world.deviceId, rig.world.deviceSecret)
    bridge.acking = false
    await bridge.start()
    t.teardown(async () => {
      await rig.engine.stop()
      await bridge.stop()
      await broker.down()
    })
    await pay(rig, 3)
    const sent: { batchId: string; attempt: number }[] = []
    rig.engine.on('published', (p) => sent.push(p))
    rig.engine.start()
    await waitFor(() => sent.length >= 3, 20_000, 'two re-sends')
    const before = sent.length
    // The in-memory broker restarts: its queue for the bridge and the box's session are gone.
    await broker.down()
    await broker.up()
    await waitFor(
      () => sent.slice(before).some((s) => s.attempt === 0),
      20_000,
      'the batch again, backoff reset',
    )
    t.equal(new Set(sent.map((s) => s.batchId)).size, 1, 'the same batch id throughout')
    bridge.acking = true
    const done = await rig.engine.syncNow(20_000)
    t.equal(done.pendingCount, 0, 'settled once the bridge acks')
  },
)
