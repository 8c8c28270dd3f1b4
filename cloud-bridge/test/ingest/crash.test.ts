// A bridge process SIGKILLed in the middle of a batch transaction (PostgreSQL + Mosquitto): nothing was
// committed and no ack went out; a new process with the same session receives the batch again and completes it.
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { keyId } from '@opg/protocol'
import pg from 'pg'
import t from 'tap'
import { balance, createTestDb, seedTenant } from '../reconcile/support.js'
import { c, makeIssuer, TestWallet } from '../verify/fixtures.js'
import { Box, registerBox } from './harness.js'

// Real brokers and databases on a shared machine: allow more than the package's per-file default.
t.setTimeout(300_000)

const MOSQUITTO = process.env.OPG_TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883'
const CHILD = fileURLToPath(new URL('./bridge-child.ts', import.meta.url))

function startChild(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--conditions=@opg/source', '--import', 'tsx', CHILD], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('bridge child did not start')), 30_000)
    child.once('exit', (code) => reject(new Error(`bridge child exited with ${code}`)))
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer)
        child.removeAllListeners('exit')
        resolve(child)
      }
    })
  })
}

const exited = (child: ChildProcess) =>
  new Promise<void>((r) =>
    child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r()),
  )

t.test('bridge process killed mid-batch, then restarted', async (t) => {
  const tdb = await createTestDb('postgres')
  t.teardown(() => tdb.drop())
  const db = tdb.db
  const run = randomBytes(4).toString('hex')
  const issuer = makeIssuer()
  const seed = await seedTenant(db, { purse: 5000 })
  await db.query(
    `INSERT INTO issuer_keys (tenant_id, key_id, public_key, secret_key_sealed, status)
     VALUES ($1, $2, $3, $4, 'active')`,
    [seed.tenantId, keyId(c, issuer.keys.publicKey), issuer.keys.publicKey, Buffer.alloc(60)],
  )
  const dev = await registerBox(db, seed.tenantId, seed.merchantId)
  const wallet = new TestWallet(issuer, { id: seed.walletId, purse: 5000, limit: 2000 })
  const box = new Box(dev, MOSQUITTO, 5)
  await box.start()
  t.teardown(() => box.stop())
  const env = {
    CHILD_DB_URL: tdb.url!,
    CHILD_MQTT_URL: MOSQUITTO,
    CHILD_CLIENT_ID: `crash-bridge-${run}`,
    CHILD_GROUP: `crash-${run}`,
  }

  // Hold a lock that the batch transaction needs last (device_batches), so the child stops mid-transaction.
  const locker = new pg.Client({ connectionString: tdb.url! })
  await locker.connect()
  t.teardown(() => locker.end())
  await locker.query('BEGIN')
  await locker.query('LOCK TABLE device_batches IN SHARE MODE')

  let child = await startChild(env)
  t.teardown(() => {
    child.kill('SIGKILL')
  })
  const tok = wallet.pay(dev.merchantId, dev.deviceId, 321)
  const id = await box.send([tok])
  const deadline = Date.now() + 20_000
  for (;;) {
    const { rows } = await db.query(
      `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO device_batches%'`,
    )
    if (rows.length > 0) break
    if (Date.now() > deadline) throw new Error('the child never reached the batch insert')
    await new Promise((r) => setTimeout(r, 100))
  }
  child.kill('SIGKILL')
  await exited(child)
  await locker.query('COMMIT')
  await new Promise((r) => setTimeout(r, 500))
  t.equal(box.acks.filter((a) => a.batch === id).length, 0, 'no ack before commit')
  t.equal(await balance(db, seed.tenantId, 'merchant_held', seed.merchantId), 0, 'nothing committed')
  const stored = await db.query('SELECT 1 FROM offline_payments WHERE tx_id = $1', [tok.txId])
  t.equal(stored.rows.length, 0)

  child = await startChild(env)
  const ack = await box.waitAck(id, 1, 30_000)
  t.same(ack.accepted, [tok.txId], 'the re-delivered batch was completed and acked')
  t.equal(await balance(db, seed.tenantId, 'merchant_held', seed.merchantId), 321)
  child.kill('SIGTERM')
  await exited(child)
})
