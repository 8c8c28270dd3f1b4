// A bridge replica as its own process, for the crash test: ingest only, wired to the real tables
// (devices, issuer_keys). Prints "ready" once consuming; runs until killed or SIGTERM.
import { openDb } from '../../src/db/index.js'
import { sqlDeviceDirectory, sqlKeyrings } from '../../src/ingest/adapters.js'
import { IngestConsumer } from '../../src/ingest/consumer.js'
import { BatchProcessor } from '../../src/ingest/processor.js'
import { ledgerPort, smsOutboxNotifier, walletsTableFreezer } from '../../src/reconcile/adapters.js'
import { Reconciler } from '../../src/reconcile/reconciler.js'
import { VerifyPool } from '../../src/verify/pool.js'
import { testUnseal } from './harness.js'

const env = (k: string) => {
  const v = process.env[k]
  if (!v) throw new Error(`${k} is required`)
  return v
}

// Run directly (e.g. `npx tap test/ingest` picks up every file in the folder) it is not a test: exit quietly.
if (!process.env.CHILD_DB_URL) process.exit(0)

const db = await openDb(env('CHILD_DB_URL'), { max: 2 })
const pool = new VerifyPool({ size: 1 })
await pool.start()
const reconciler = new Reconciler({
  db,
  ledger: ledgerPort(),
  notifier: smsOutboxNotifier(),
  wallets: walletsTableFreezer(),
})
const processor = new BatchProcessor({
  db,
  reconciler,
  verifier: pool,
  devices: sqlDeviceDirectory(db, testUnseal),
  keyrings: sqlKeyrings(db),
})
const consumer = new IngestConsumer(processor, {
  url: env('CHILD_MQTT_URL'),
  clientId: env('CHILD_CLIENT_ID'),
  group: env('CHILD_GROUP'),
  protocolVersion: 5,
  sessionExpirySeconds: 120,
})
await consumer.start()
process.stdout.write('ready\n')
process.once('SIGTERM', async () => {
  await consumer.stop()
  await pool.stop()
  await db.close()
})
