/**
 * Attack: a box the operator revoked (stolen from the stall) keeps publishing batches; and a box of a
 * suspended tenant does the same. The bridge books nothing and acks nothing (the box keeps what it holds), but
 * every token is kept as refused with the reason, the operator is alerted once per batch, a re-sent batch adds
 * nothing, and the ledger still balances to zero with no merchant credited. PostgreSQL + Mosquitto and
 * PGlite + aedes, through the real consumer.
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import type { Db } from '../../src/db/types.js'
import { BrokerGate, sqlBrokerDirectory } from '../../src/fleet/broker-gate.js'
import { EmbeddedBroker } from '../../src/fleet/embedded-broker.js'
import { revokeDevice, setTenantStatus } from '../../src/fleet/operator-actions.js'
import { InlineVerifier } from '../../src/verify/pool.js'
import { tokenDigest } from '../../src/verify/verify-token.js'
import { Box, registerBox, staticKeyrings, TestBridge, testUnseal } from '../ingest/harness.js'
import { createTestDb, seedTenant } from '../reconcile/support.js'
import { makeIssuer, TestWallet } from '../verify/fixtures.js'

t.setTimeout(300_000)

const MOSQUITTO = process.env.OPG_TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883'
const setups = [
  { name: 'PostgreSQL + Mosquitto', engine: 'postgres' as const, broker: 'mosquitto' as const },
  { name: 'PGlite + aedes', engine: 'pglite' as const, broker: 'aedes' as const },
]

async function waitFor(cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

async function ledger(db: Db, tenantId: string) {
  const { rows } = await db.query<{ n: number; total: string | null; merchant: string | null }>(
    `SELECT count(*)::int AS n, sum(p.amount)::text AS total,
            sum(p.amount) FILTER (WHERE a.kind LIKE 'merchant%')::text AS merchant
       FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id WHERE p.tenant_id = $1`,
    [tenantId],
  )
  return rows[0]!
}

for (const setup of setups) {
  t.test(setup.name, async (t) => {
    const tdb = await createTestDb(setup.engine)
    t.teardown(() => tdb.drop())
    const db = tdb.db
    let url = MOSQUITTO
    const run = randomBytes(4).toString('hex')
    const login = { username: 'opg-bridge', password: randomBytes(16).toString('hex') }
    if (setup.broker === 'aedes') {
      // A broker that still lets the revoked box in — as Mosquitto does until its ACL is regenerated and its CRL
      // names the certificate — so the ingest check, the second line of defence, is what is tested here. (The
      // embedded broker's own refusal at connect is tested in test/fleet/embedded-broker.test.ts.)
      const directory = sqlBrokerDirectory(db, testUnseal)
      const broker = new EmbeddedBroker({
        host: '127.0.0.1',
        port: 0,
        gate: new BrokerGate({
          directory: {
            device: async (tenantId, deviceId) => {
              const d = await directory.device(tenantId, deviceId)
              return d && { ...d, active: true }
            },
          },
          bridge: login,
          bridgeClientId: `bridge-${run}`,
        }),
      })
      url = await broker.start()
      t.teardown(() => broker.stop())
    }
    const v: 4 | 5 = setup.broker === 'aedes' ? 4 : 5
    const issuer = makeIssuer()
    const seedA = await seedTenant(db, { purse: 5000 })
    const seedB = await seedTenant(db, { purse: 5000 })
    const keyrings = staticKeyrings(
      new Map([
        [seedA.tenantId, issuer],
        [seedB.tenantId, issuer],
      ]),
    )
    const walletA = new TestWallet(issuer, { id: seedA.walletId, purse: 5000, limit: 2000 })
    const walletB = new TestWallet(issuer, { id: seedB.walletId, purse: 5000, limit: 2000 })
    const stolen = await registerBox(db, seedA.tenantId, seedA.merchantId)
    const suspendedBox = await registerBox(db, seedB.tenantId, seedB.merchantId)
    const now = new Date()
    const r = await revokeDevice(db, seedA.tenantId, stolen.deviceId, {
      actor: null,
      reason: 'stolen',
      now,
    })
    t.ok(r.changed)
    await setTenantStatus(db, seedB.tenantId, 'suspended', { actor: null, reason: 'review', now })
    const before = { a: await ledger(db, seedA.tenantId), b: await ledger(db, seedB.tenantId) }

    const bridge = new TestBridge(db, new InlineVerifier(), keyrings, {
      url,
      clientId: `bridge-${run}`,
      protocolVersion: v,
      group: `bridge-test-${run}`,
      ...(setup.broker === 'aedes' ? { mqtt: login } : {}),
    })
    await bridge.consumer.start()
    t.teardown(() => bridge.consumer.stop())

    const cases = [
      {
        name: 'revoked box publishing a batch',
        dev: stolen,
        wallet: walletA,
        reason: 'device_revoked',
        key: 'a',
      },
      {
        name: 'box of a suspended tenant publishing a batch',
        dev: suspendedBox,
        wallet: walletB,
        reason: 'tenant_suspended',
        key: 'b',
      },
    ] as const
    for (const k of cases) {
      await t.test(k.name, async (t) => {
        const box = setup.broker === 'aedes' ? new Box(k.dev, url, v, k.dev.deviceId) : new Box(k.dev, url, v)
        await box.start()
        t.teardown(() => box.stop())
        const tokens = [
          k.wallet.pay(k.dev.merchantId, k.dev.deviceId, 900),
          k.wallet.pay(k.dev.merchantId, k.dev.deviceId, 40),
        ]
        const batch = await box.send(tokens)
        const kept = async () =>
          (
            await db.query<{ tx_id: string; code: string; token: Uint8Array; token_hash: string }>(
              `SELECT tx_id, reason AS code, token, token_id AS token_hash FROM refused_tokens
                WHERE tenant_id = $1 AND received_from = $2 AND source = 'box' ORDER BY tx_id`,
              [k.dev.tenantId, k.dev.deviceId],
            )
          ).rows
        await waitFor(async () => (await kept()).length === 2, 30_000, 'the refused tokens')
        const rows = await kept()
        t.same(
          rows.map((x) => [x.tx_id, x.code, Buffer.from(x.token).toString('hex'), x.token_hash]),
          tokens
            .map((tk) => [tk.txId, k.reason, Buffer.from(tk.bytes).toString('hex'), tokenDigest(tk.bytes)])
            .sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
          'every token kept, raw bytes and reason',
        )
        // The same batch again (the box retries: it never got an ack) adds nothing.
        await box.send(tokens, batch)
        await waitFor(
          async () =>
            bridge.processor.stats.dropped[
              k.reason === 'device_revoked' ? 'revoked_device' : 'suspended_tenant'
            ] >= 2,
          30_000,
          'the re-sent batch',
        )
        t.equal((await kept()).length, 2, 're-delivery keeps no second copy')
        t.same(box.acks, [], 'no ack: the box keeps the payments and their receipts')
        const alerts = await db.query<{ detail: { reason: string; tokens: number } | string }>(
          "SELECT detail FROM operator_alerts WHERE kind = 'refused_device_batch' AND device_id = $1",
          [k.dev.deviceId],
        )
        t.equal(alerts.rows.length, 1, 'one alert for the batch')
        const detail = alerts.rows[0]!.detail
        t.match(typeof detail === 'string' ? JSON.parse(detail) : detail, { reason: k.reason, tokens: 2 })
        const after = await ledger(db, k.dev.tenantId)
        t.same(after, before[k.key], 'nothing booked')
        t.equal(Number(after.total ?? 0), 0, 'the ledger balances to zero')
        t.equal(Number(after.merchant ?? 0), 0, 'no merchant credited or debited')
        const batches = await db.query('SELECT 1 FROM device_batches WHERE device_id = $1', [k.dev.deviceId])
        t.equal(batches.rows.length, 0, 'not counted as a received batch')
      })
    }
  })
}
