/**
 * The sync contract, run against the embedded aedes broker and the real Mosquitto: payments taken offline
 * are all delivered once the broker is up, marked synced only when the bridge acks them, never settled twice;
 * PUBACK alone settles nothing; status is retained and the last will says "offline".
 */
import t from 'tap'
import {
  aedesBroker,
  clearSession,
  FakeBridge,
  freePort,
  systemMosquitto,
  type TestBroker,
  waitFor,
} from './harness.js'
import { makeSyncRig, pay } from './setup.js'

const targets: ((port: number) => TestBroker)[] = [aedesBroker, systemMosquitto]

for (const make of targets) {
  t.test(`contract on ${make(0).name}`, async (t) => {
    const broker = make(await freePort())
    const url = `mqtt://127.0.0.1:${broker.port}`
    t.teardown(() => broker.down())

    t.test('offline payments → broker up → all acked, none settled twice', async (t) => {
      const rig = makeSyncRig(url, { batchSize: 40, window: 3 })
      const settled: number[] = []
      rig.engine.on('progress', (p) => settled.push(p.acked))
      rig.engine.start()
      const ids = await pay(rig, 250)
      t.equal(rig.vault.stats().unsyncedCount, 250, 'nothing synced while the broker is down')
      t.equal(rig.engine.online, false)

      await broker.up()
      const bridge = new FakeBridge(broker.bridgeUrl)
      bridge.addDevice(rig.world.deviceId, rig.world.deviceSecret)
      await bridge.start()
      const done = await rig.engine.syncNow(20_000)
      t.equal(done.pendingCount, 0)
      t.equal(rig.vault.stats().unsyncedCount, 0)
      t.same([...bridge.booked].sort(), [...ids].sort(), 'the bridge booked exactly the accepted payments')
      t.equal(
        settled.reduce((a, b) => a + b, 0),
        250,
        'each payment settled once at the box',
      )
      await rig.engine.stop()
      await bridge.stop()
      await clearSession(url, rig.world.deviceId)
      await broker.down()
    })

    t.test('a PUBACK settles nothing: records stay pending until down/ack covers them', async (t) => {
      await broker.up()
      const rig = makeSyncRig(url, { batchSize: 10, ackTimeoutMs: 300 })
      const bridge = new FakeBridge(broker.bridgeUrl)
      bridge.addDevice(rig.world.deviceId, rig.world.deviceSecret)
      bridge.acking = false
      await bridge.start()
      const ids = await pay(rig, 15)
      rig.engine.start()
      await waitFor(
        () => [...bridge.deliveries.values()].some((n) => n >= 2),
        10_000,
        'a re-publish after the ack timeout',
      )
      t.equal(rig.vault.stats().unsyncedCount, 15, 'delivered to the broker, still pending at the box')

      bridge.acking = true
      await rig.engine.syncNow(10_000)
      t.equal(rig.vault.stats().unsyncedCount, 0)
      t.same([...bridge.booked].sort(), [...ids].sort())
      await rig.engine.stop()
      await bridge.stop()
      await clearSession(url, rig.world.deviceId)
      await broker.down()
    })

    t.test('retained status while online; last will "offline" when the link dies; reconnects', async (t) => {
      await broker.up()
      const rig = makeSyncRig(url)
      const bridge = new FakeBridge(broker.bridgeUrl)
      bridge.addDevice(rig.world.deviceId, rig.world.deviceSecret)
      await bridge.start()
      await pay(rig, 3, 250)
      rig.engine.start()
      await waitFor(() => bridge.statuses.length > 0, 5_000, 'an online status')
      t.match(bridge.statuses[0], { online: true, pendingAmount: { EUR: 750 } })
      await rig.engine.syncNow(5_000)

      let offlineEvents = 0
      rig.engine.on('offline', () => offlineEvents++)
      bridge.statuses.length = 0
      broker.dropNode(rig.world.deviceId) // no DISCONNECT: the broker publishes the will
      await waitFor(() => bridge.statuses.includes('offline'), 5_000, 'the last will')
      await waitFor(() => bridge.statuses.at(-1) !== 'offline', 5_000, 'an online status after reconnecting')
      t.equal(offlineEvents, 1)
      t.match(bridge.statuses.at(-1), { online: true, pending: 0 })
      const session = (bridge.statuses.at(-1) as { session?: string }).session
      t.equal(rig.engine.online, true)

      await pay(rig, 2)
      rig.engine.kick()
      await rig.engine.syncNow(5_000)
      t.equal(bridge.booked.size, 5, 'payments after the reconnect flow too')

      bridge.statuses.length = 0
      await rig.engine.stop()
      await waitFor(() => bridge.statuses.includes('offline'), 5_000, 'the offline status after stop')
      t.match(session, /^[0-9a-f]{16}$/, 'online statuses name the session')
      t.ok(
        bridge.offlineSessions.length >= 2 && bridge.offlineSessions.every((s) => s === session),
        'the will and the final offline status are sealed for that session',
      )
      t.equal(bridge.unsealed, 0, 'never an unsealed offline byte')
      await bridge.stop()
      await clearSession(url, rig.world.deviceId)
      await broker.down()
    })
  })
}
