/**
 * Sync engine edges: a forged ack settles nothing, records the bridge refuses are settled and reported,
 * syncNow gives up after its timeout while offline, and stop() ends a waiting syncNow.
 */
import { uuidv7 } from '@opg/protocol'
import t from 'tap'
import { c, TENANT } from '../accept/fixtures.js'
import { aedesBroker, FakeBridge, freePort, waitFor } from './harness.js'
import { makeSyncRig, pay } from './setup.js'

t.test('forged acks and refused records', async (t) => {
  const broker = aedesBroker(await freePort())
  const url = `mqtt://127.0.0.1:${broker.port}`
  await broker.up()
  const rig = makeSyncRig(url, { ackTimeoutMs: 60_000 })
  const bridge = new FakeBridge(url)
  bridge.addDevice(rig.world.deviceId, rig.world.deviceSecret)
  bridge.acking = false
  await bridge.start()
  t.teardown(async () => {
    await rig.engine.stop()
    await bridge.stop()
    await broker.down()
  })
  const ids = await pay(rig, 4)
  const warnings: Error[] = []
  rig.engine.on('warning', (e) => warnings.push(e))
  rig.engine.start()
  await waitFor(() => bridge.deliveries.size === 4, 5_000, 'the batch')

  await bridge.sendAck(TENANT, rig.world.deviceId, uuidv7(c), ids, [], c.randomBytes(16))
  await waitFor(() => warnings.length > 0, 5_000, 'the forged ack to be noticed')
  t.match(warnings[0], { code: 'bad_message' })
  t.equal(rig.vault.stats().unsyncedCount, 4, 'a forged ack settles nothing')

  const refused: { txId: string; code: string }[] = []
  rig.engine.on('rejected', (items) => refused.push(...items))
  await bridge.sendAck(TENANT, rig.world.deviceId, uuidv7(c), ids.slice(0, 3), [
    { tx: ids[3]!, code: 'replay' },
  ])
  const done = await rig.engine.syncNow(5_000)
  t.equal(done.pendingCount, 0, 'a refused payment is no longer pending: the bridge decided')
  t.same(refused, [{ txId: ids[3], code: 'replay' }])
  // ...but it is not a success: the box keeps it, marked refused with the code, receipt and all.
  const kept = rig.vault.summary(ids[3]!)
  t.equal(kept?.refused, 'replay', 'kept as refused, with the code')
  t.equal(rig.vault.stats().refusedCount, 1)
  t.ok((await rig.vault.get(ids[3]!))?.receipt.length, 'its receipt is still there')
  for (const id of ids.slice(0, 3)) t.equal(rig.vault.summary(id)?.refused, undefined, 'booked ones are not')
})

t.test('syncNow times out while offline and ends on stop()', async (t) => {
  const rig = makeSyncRig(`mqtt://127.0.0.1:${await freePort()}`)
  await pay(rig, 2)
  rig.engine.start()
  await t.rejects(rig.engine.syncNow(300), { code: 'timeout' })
  const waiting = rig.engine.syncNow(60_000)
  await rig.engine.stop()
  await t.rejects(waiting, { code: 'stopped' })
  t.equal(rig.vault.stats().unsyncedCount, 2, 'nothing settled without a bridge')
})
