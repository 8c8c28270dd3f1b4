// The whole ingest path: a box publishes an encrypted batch → the bridge verifies, reconciles, commits →
// the box receives its encrypted ack → the ledger is right. On PostgreSQL + Mosquitto and on PGlite + aedes.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { BrokerGate, sqlBrokerDirectory } from '../../src/fleet/broker-gate.js'
import { EmbeddedBroker } from '../../src/fleet/embedded-broker.js'
import { fleetFigures } from '../../src/ingest/fleet.js'
import { InlineVerifier, VerifyPool } from '../../src/verify/pool.js'
import { balance, createTestDb, seedTenant } from '../reconcile/support.js'
import { makeIssuer, TestWallet } from '../verify/fixtures.js'
import { Box, registerBox, staticKeyrings, TestBridge, testUnseal } from './harness.js'

// Real brokers and databases on a shared machine: allow more than the package's per-file default.
t.setTimeout(300_000)

const MOSQUITTO = process.env.OPG_TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883'

const setups = [
  { name: 'PostgreSQL + Mosquitto', engine: 'postgres' as const, broker: 'mosquitto' as const },
  { name: 'PGlite + aedes', engine: 'pglite' as const, broker: 'aedes' as const },
]

for (const setup of setups) {
  t.test(setup.name, async (t) => {
    const tdb = await createTestDb(setup.engine)
    t.teardown(() => tdb.drop())
    const db = tdb.db
    const v: 4 | 5 = setup.broker === 'aedes' ? 4 : 5
    const run = randomBytes(4).toString('hex')
    const group = `bridge-test-${run}`
    let url = MOSQUITTO
    // The embedded broker authenticates everyone: the bridge with its own login, boxes with theirs.
    const login = { username: 'opg-bridge', password: randomBytes(16).toString('hex') }
    if (setup.broker === 'aedes') {
      const broker = new EmbeddedBroker({
        host: '127.0.0.1',
        port: 0,
        gate: new BrokerGate({
          directory: sqlBrokerDirectory(db, testUnseal),
          bridge: login,
          bridgeClientId: `bridge-a-${run}`,
        }),
      })
      url = await broker.start()
      t.teardown(() => broker.stop())
    }
    const boxAt = (d: typeof dev) =>
      setup.broker === 'aedes' ? new Box(d, url, v, d.deviceId) : new Box(d, url, v)

    const issuer = makeIssuer()
    const seed = await seedTenant(db, { purse: 5000 })
    const keyrings = staticKeyrings(new Map([[seed.tenantId, issuer]]))
    const wallet = new TestWallet(issuer, { id: seed.walletId, purse: 5000, limit: 2000 })
    const dev = await registerBox(db, seed.tenantId, seed.merchantId)
    const box = boxAt(dev)
    await box.start()
    t.teardown(() => box.stop())

    const pool = new VerifyPool({ size: 2, minChunk: 2 })
    await pool.start()
    t.teardown(() => pool.stop())
    const consumerOpts = {
      url,
      clientId: `bridge-a-${run}`,
      protocolVersion: v,
      group,
      ...(setup.broker === 'aedes' ? { mqtt: login } : {}),
    }
    let bridge = new TestBridge(db, pool, keyrings, consumerOpts)
    await bridge.consumer.start()
    t.teardown(() => bridge.consumer.stop())

    const held = () => balance(db, seed.tenantId, 'merchant_held', seed.merchantId)

    await t.test('batch in → ack out → ledger right; invalid token acked as rejected', async (t) => {
      const good = [
        wallet.pay(dev.merchantId, dev.deviceId, 120),
        wallet.pay(dev.merchantId, dev.deviceId, 80),
      ]
      const overLimit = wallet.pay(dev.merchantId, dev.deviceId, 2001)
      const id = await box.send([...good, overLimit])
      const ack = await box.waitAck(id)
      t.same(ack.accepted.sort(), good.map((g) => g.txId).sort())
      t.same(ack.rejected, [{ tx: overLimit.txId, code: 'over_limit' }])
      t.equal(await held(), 200)
      t.equal(await balance(db, seed.tenantId, 'purse_escrow', seed.walletId), 4800)
      const r = await db.query('SELECT reason, source FROM refused_tokens WHERE tenant_id = $1', [
        seed.tenantId,
      ])
      t.same(r.rows, [{ reason: 'over_limit', source: 'box' }], 'recorded for the operator')
    })

    await t.test('re-delivered and reordered batches are harmless', async (t) => {
      const a = wallet.pay(dev.merchantId, dev.deviceId, 10)
      const b = wallet.pay(dev.merchantId, dev.deviceId, 20)
      const idB = await box.send([b])
      const ackB = await box.waitAck(idB)
      t.same(ackB.accepted, [b.txId], 'a later counter first')
      const idA = await box.send([a])
      t.same((await box.waitAck(idA)).accepted, [a.txId])
      const again = await box.send([a, b], idA)
      t.same(
        (await box.waitAck(again, 2)).accepted.sort(),
        [a.txId, b.txId].sort(),
        'same batch again: acked again',
      )
      t.equal(await held(), 230)
      const n = await db.query<{ deliveries: number }>(
        'SELECT deliveries FROM device_batches WHERE tenant_id = $1 AND batch_id = $2',
        [seed.tenantId, idA],
      )
      t.equal(n.rows[0]?.deliveries, 2)
    })

    await t.test('unknown device, moved payload, foreign tenant: dropped, no ack, no crash', async (t) => {
      const before = { ...bridge.processor.stats.dropped }
      const tok = wallet.pay(dev.merchantId, dev.deviceId, 5)
      // The box's own sealed payload, published on another box's topic: the AAD no longer matches.
      const other = await registerBox(db, seed.tenantId, seed.merchantId)
      const otherBox = boxAt(other)
      await otherBox.start()
      t.teardown(() => otherBox.stop())
      await otherBox.publish(otherBox.topic('up/tx'), box.seal([tok]))
      const stranger = boxAt({ ...dev, deviceId: 'fedcba9876543210' })
      if (setup.broker === 'aedes') {
        // The locked broker turns an unregistered box away at the door (the broker tests cover the rest).
        await t.rejects(stranger.start(), 'an unregistered box cannot connect')
      } else {
        // The open system broker lets anyone publish anywhere: the processor is the second line.
        await stranger.start()
        t.teardown(() => stranger.stop())
        await stranger.send([tok])
        // A topic naming another tenant for this device id.
        await box.publish(`opg/v1/${'0'.repeat(16)}/${dev.deviceId}/up/tx`, box.seal([tok]))
      }
      const probe = await box.send([wallet.pay(dev.merchantId, dev.deviceId, 1)])
      await box.waitAck(probe)
      t.equal(
        bridge.processor.stats.dropped.unknown_device - before.unknown_device,
        setup.broker === 'aedes' ? 0 : 2,
      )
      t.equal(bridge.processor.stats.dropped.bad_payload - before.bad_payload, 1)
      const stored = await db.query('SELECT 1 FROM offline_payments WHERE tx_id = $1', [tok.txId])
      t.equal(stored.rows.length, 0)
      t.equal(await held(), 231)
    })

    await t.test('status → devices.last_seen_at', async (t) => {
      await box.sendStatus(3)
      const probe = await box.send([wallet.pay(dev.merchantId, dev.deviceId, 1)])
      await box.waitAck(probe)
      const { rows } = await db.query<{ online: boolean; pending_count: number; last_seen_at: Date | null }>(
        'SELECT online, pending_count, last_seen_at FROM devices WHERE tenant_id = $1 AND id = $2',
        [dev.tenantId, dev.deviceId],
      )
      t.equal(rows[0]?.online, true)
      t.equal(rows[0]?.pending_count, 3)
      t.ok(rows[0]?.last_seen_at instanceof Date)
      const online = async () =>
        (
          await db.query<{ online: boolean; last_seen_at: Date | null }>(
            'SELECT online, last_seen_at FROM devices WHERE tenant_id = $1 AND id = $2',
            [dev.tenantId, dev.deviceId],
          )
        ).rows[0]
      const dropped = { ...bridge.processor.stats.dropped }
      // The legacy unsealed will: anyone able to publish could send it, so it is not believed.
      await box.publish(box.topic('up/status'), Uint8Array.of(0))
      // A sealed will of an earlier session (a replay): not believed either.
      await box.sendOffline('b2b2b2b2b2b2b2b2')
      const probe1 = await box.send([wallet.pay(dev.merchantId, dev.deviceId, 1)])
      await box.waitAck(probe1)
      t.equal((await online())?.online, true, 'unsealed and stale wills ignored')
      t.equal(bridge.processor.stats.dropped.unsealed_status - dropped.unsealed_status, 1)
      t.equal(bridge.processor.stats.dropped.stale_will - dropped.stale_will, 1)
      // The will of the session last seen online.
      await box.sendOffline('a1a1a1a1a1a1a1a1')
      const probe2 = await box.send([wallet.pay(dev.merchantId, dev.deviceId, 1)])
      await box.waitAck(probe2)
      const after = { rows: [await online()] }
      t.equal(after.rows[0]?.online, false, 'offline will recorded')
      t.same(after.rows[0]?.last_seen_at, rows[0]?.last_seen_at, 'last seen kept')
      const f = await fleetFigures(db, seed.tenantId, new Date(0))
      t.equal(f.devices, 2, 'this box and the one registered for the moved-payload case')
      t.equal(f.online, 0)
      t.ok(
        f.batches >= 6 && f.redeliveries >= 1 && f.rejected >= 1,
        'batches, re-deliveries, rejections counted',
      )
      t.ok(f.lastBatchAt instanceof Date)
    })

    await t.test('bridge killed mid-batch: no ack before commit; restart completes it', async (t) => {
      const before = await held()
      // A database handle whose next transaction hangs until the bridge has been killed, then fails.
      let releaseGate: () => void = () => {}
      const gate = new Promise<void>((r) => {
        releaseGate = r
      })
      let signalEntered: () => void = () => {}
      const enteredTx = new Promise<void>((r) => {
        signalEntered = r
      })
      let hung = false
      const gated: typeof db = {
        kind: db.kind,
        query: (q, p) => db.query(q, p),
        exec: (q) => db.exec(q),
        close: () => db.close(),
        async transaction(fn, opts) {
          if (!hung) {
            hung = true
            signalEntered()
            await gate
            throw new Error('process killed')
          }
          return db.transaction(fn, opts)
        },
      }
      await bridge.consumer.stop()
      bridge = new TestBridge(gated, pool, keyrings, consumerOpts)
      await bridge.consumer.start()
      const tok = wallet.pay(dev.merchantId, dev.deviceId, 44)
      const id = await box.send([tok])
      await enteredTx
      await bridge.consumer.stop({ abort: true })
      releaseGate()
      await new Promise((r) => setTimeout(r, 300))
      t.equal(box.acks.filter((a) => a.batch === id).length, 0, 'no ack was sent')
      t.equal(await held(), before, 'nothing committed')
      bridge = new TestBridge(db, pool, keyrings, consumerOpts)
      await bridge.consumer.start()
      const ack = await box.waitAck(id)
      t.same(ack.accepted, [tok.txId], 'redelivery completed the batch')
      t.equal(await held(), before + 44)
    })

    if (setup.broker === 'mosquitto') {
      await t.test('two replicas (one with two connections) on one shared subscription', async (t) => {
        const before = await held()
        const second = await createSecondHandle(tdb.url)
        t.teardown(() => second?.close())
        const replica = new TestBridge(second ?? db, new InlineVerifier(), keyrings, {
          url,
          clientId: `bridge-b-${run}`,
          protocolVersion: 5,
          group,
          connections: 2,
        })
        await replica.consumer.start()
        t.teardown(() => replica.consumer.stop())
        const ids: string[] = []
        let sum = 0
        for (let i = 0; i < 12; i++) {
          const amount = 1 + i
          sum += amount
          ids.push(await box.send([wallet.pay(dev.merchantId, dev.deviceId, amount)]))
        }
        for (const id of ids) await box.waitAck(id)
        const handled = bridge.processor.stats.batches + replica.processor.stats.batches
        t.ok(replica.processor.stats.batches > 0, 'the second replica took a share')
        t.ok(handled >= 12, 'every batch handled')
        t.equal(await held(), before + sum, 'each payment counted once')
      })
    }
  })
}

async function createSecondHandle(url: string | null) {
  if (!url) return null
  const { openDb } = await import('../../src/db/index.js')
  return openDb(url, { max: 2 })
}
