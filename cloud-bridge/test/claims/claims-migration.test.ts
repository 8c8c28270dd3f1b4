// Migration 247 makes the claims table the one claim record: a payment an older bridge left disputed without a
// claim row (it stopped between its two writes) gets its claim back, so a route can resolve it; claims that
// exist are kept as they are. Run on PostgreSQL and PGlite.
import t from 'tap'
import { migrate } from '../../src/db/migrate.js'
import { forEachDatabase } from '../support/databases.js'

const T = '00000000000000a1'
const W = '00000000000000b1'

t.test('migration 247 recovers stranded claims, then drops the duplicate columns', async (t) => {
  await forEachDatabase(
    t,
    async (t, db) => {
      await db.exec(`INSERT INTO tenants (id, name, currency) VALUES ('${T}', 'old', 'EUR')`)
      await db.exec(
        `INSERT INTO wallets (tenant_id, id, public_key, currency) VALUES ('${T}', '${W}', '\\x${'11'.repeat(32)}', 'EUR')`,
      )
      const pay = (tx: string, state: string, claimed: boolean) =>
        db.query(
          `INSERT INTO offline_payments (tx_id, tenant_id, wallet_id, merchant_id, device_id, purse_id, amount,
             currency, counter, token, token_hash, state, funded_from, first_received_at, updated_at, claimed_at,
             claim_reason, resolved_at, resolved_by)
           VALUES ($1, $2, $3, 'm', 'd', 'p', 100, 'EUR', $4, '\\x00', $1, $5, 'escrow', now(), now(),
             CASE WHEN $6 THEN now() END, CASE WHEN $6 THEN 'lost phone' END,
             CASE WHEN $5 = 'reversed' THEN now() END, CASE WHEN $5 = 'reversed' THEN 'op-1' END)`,
          [tx, T, W, Number(tx.slice(-1)), state, claimed],
        )
      await pay('tx-1', 'disputed', true) // stranded: no claim row
      await pay('tx-2', 'reversed', true) // stranded after its decision
      await pay('tx-3', 'disputed', true) // has its claim row
      await pay('tx-4', 'approved', false) // never claimed
      await db.exec(
        `INSERT INTO claims (tenant_id, id, tx_id, wallet_id, reason, status) VALUES ('${T}', 'c000000000000003', 'tx-3', '${W}', 'kept', 'open')`,
      )

      await migrate(db)
      const { rows } = await db.query<{
        tx_id: string
        status: string
        reason: string
        resolved_by: string | null
      }>('SELECT tx_id, status, reason, resolved_by FROM claims WHERE tenant_id = $1 ORDER BY tx_id', [T])
      t.same(rows, [
        { tx_id: 'tx-1', status: 'open', reason: 'lost phone', resolved_by: null },
        { tx_id: 'tx-2', status: 'reversed', reason: 'lost phone', resolved_by: 'op-1' },
        { tx_id: 'tx-3', status: 'open', reason: 'kept', resolved_by: null },
      ])
      const cols = await db.query<{ column_name: string }>(
        `SELECT column_name FROM information_schema.columns
          WHERE table_name = 'offline_payments' AND column_name IN ('claimed_at', 'claim_reason', 'resolved_at', 'resolved_by')`,
      )
      t.same(cols.rows, [], 'the payment keeps only its state')
    },
    { migrate: { upTo: 246 } },
  )
})
