/**
 * A ledger written before migrations 422 and 423, one journal entry per movement and no stored balances:
 * - 422 copies those movements into ledger_movements, so their refs keep being refused twice and a replay still
 *   names the entry that first carried them;
 * - 423 gives every guarded account its running balance from its postings, so the first debit after the
 *   upgrade is checked against the whole history.
 * The history is written with SQL of its own, as the ledger wrote it then (today's post() needs 423).
 */
import t from 'tap'
import type { Db } from '../../src/db/index.js'
import { migrate } from '../../src/db/migrate.js'
import {
  type Account,
  accounts,
  balance,
  checkInvariants,
  findMovement,
  postMovements,
} from '../../src/ledger/index.js'
import { forEachDatabase, seedTenant } from '../support/databases.js'
import { M, move, W1 } from '../support/ledger-ops.js'

/** A movement as an entry of its own with two postings, the way the ledger posted it before migration 422. */
async function postedAsEntry(db: Db, ref: string, memo: string, from: Account, to: Account, amount: bigint) {
  return db.transaction(async (tx) => {
    const ids: string[] = []
    for (const a of [from, to]) {
      const r = await tx.query<{ id: string }>(
        `WITH ins AS (INSERT INTO ledger_accounts (tenant_id, kind, owner, currency) VALUES ($1, $2, $3, $4)
                      ON CONFLICT DO NOTHING RETURNING id)
         SELECT id::text FROM ins UNION ALL
         SELECT id::text FROM ledger_accounts WHERE tenant_id = $1 AND kind = $2 AND owner = $3 AND currency = $4`,
        [a.tenantId, a.kind, a.ownerId, a.currency],
      )
      ids.push(r.rows[0]!.id)
    }
    const e = await tx.query<{ id: string }>(
      `INSERT INTO ledger_entries (id, tenant_id, ref, memo) VALUES (gen_random_uuid(), $1, $2, $3) RETURNING id`,
      [from.tenantId, ref, memo],
    )
    const id = e.rows[0]!.id
    await tx.query(
      `INSERT INTO ledger_postings (entry_id, seq, tenant_id, account_id, currency, amount)
       VALUES ($1, 0, $2, $3, $5, $6), ($1, 1, $2, $4, $5, $7)`,
      [id, from.tenantId, ids[0], ids[1], from.currency, (-amount).toString(), amount.toString()],
    )
    return id
  })
}

const runningBalance = async (db: Db, a: Account) =>
  (
    await db.query<{ balance: bigint }>(
      'SELECT balance FROM ledger_accounts WHERE tenant_id = $1 AND kind = $2 AND owner = $3 AND currency = $4',
      [a.tenantId, a.kind, a.ownerId, a.currency],
    )
  ).rows[0]?.balance

forEachDatabase(
  t,
  async (t, db) => {
    t.test('a ledger from before migrations 422 and 423 keeps its refs and gets its balances', async (t) => {
      const tenant = await seedTenant(db)
      const suspense = accounts.suspense(tenant, 'EUR')
      const escrow = accounts.purseEscrow(tenant, W1, 'EUR')
      const held = accounts.merchantHeld(tenant, M, 'EUR')
      await postedAsEntry(db, `fund:${W1}`, '', suspense, escrow, 100n)
      const old = await postedAsEntry(db, 'offline:t1:hold', 'offline payment held', escrow, held, 25n)
      await migrate(db)

      t.same(await findMovement(db, tenant, 'offline:t1:hold'), {
        entryId: old,
        from: escrow,
        to: held,
        amount: 25n,
        memo: 'offline payment held',
      })
      t.equal(await findMovement(db, tenant, `fund:${W1}`), null, 'other refs are not movements')
      const replay = await db.transaction((tx) =>
        postMovements(tx, [move('offline:t1:hold', tenant, escrow, held, 25n)]),
      )
      t.same(replay, [{ ref: 'offline:t1:hold', tenantId: tenant, entryId: old, replayed: true }])
      await t.rejects(
        db.transaction((tx) => postMovements(tx, [move('offline:t1:hold', tenant, escrow, held, 26n)])),
        { code: 'ref_conflict' },
      )
      t.equal(await balance(db, held), 25n, 'moved once')

      t.equal(await runningBalance(db, escrow), 75n, 'a guarded account starts from its history')
      t.equal(await runningBalance(db, held), 25n)
      t.equal(await runningBalance(db, suspense), 0n, 'an unguarded account keeps no running balance')
      t.same(await checkInvariants(db, tenant), [])
      await t.rejects(
        db.transaction((tx) => postMovements(tx, [move('offline:t2:hold', tenant, escrow, held, 76n)])),
        { code: 'insufficient_funds', detail: { balance: 75n, needed: 76n } },
        'the first debit after the upgrade is checked against the backfilled balance',
      )
      await db.transaction((tx) => postMovements(tx, [move('offline:t2:hold', tenant, escrow, held, 75n)]))
      t.equal(await runningBalance(db, escrow), 0n)
      t.same(await checkInvariants(db, tenant), [])
    })
  },
  { migrate: { upTo: 421 } },
)
