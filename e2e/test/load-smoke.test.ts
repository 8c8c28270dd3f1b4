// The fleet load simulator at a small scale: real bridge processes on PostgreSQL, a private Mosquitto, boxes
// enrolled through the API and speaking the sealed protocol. Correctness only (every payment acked, stored
// once, approved once by two replicas' sweeps, ledger balanced); the figures come from `npm run load`.
import t from 'tap'
import { storm } from '../src/load/scenarios.js'
import { mosquittoInstalled, postgresReachable, TEST_PG_URL } from '../src/services.js'

const reachable = (await postgresReachable()) && (await mosquittoInstalled())
const skip = reachable ? false : `PostgreSQL (${TEST_PG_URL}) not reachable or mosquitto not installed`
if (!reachable && process.env.CI) t.fail(String(skip))

t.test('a storm of 12 boxes split between two replicas', { skip, timeout: 240_000 }, async (t) => {
  const r = await storm({ boxes: 12, payments: 5, windowS: 2, replicas: 2, timeoutS: 90, holdSeconds: 3 })
  t.equal(r.batchesAcked, 12, 'every box got its ack')
  t.equal(r.paymentsAccepted, 60, 'every payment acked')
  t.equal(r.storedPayments, 60, 'every payment stored once')
  t.equal(r.storedAmount, r.expectedAmount, 'the amounts add up')
  t.equal(r.ledgerViolations, 0, 'the ledger balances')
  t.ok(r.approvedOnce, 'every payment auto-approved exactly once')
  t.equal(r.approvals, 60)
})
