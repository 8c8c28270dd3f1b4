/**
 * Running balances of guarded accounts (migration 423): the balance a guarded debit is checked against is one
 * row, kept by the postings' statement trigger whoever writes, equal to the sum of the account's postings at every
 * commit (checkInvariants compares them), and never below zero even for a writer that bypasses the ledger.
 */
import t from 'tap'
import type { Db } from '../../src/db/index.js'
import {
  ACCOUNT_KINDS,
  type Account,
  accounts,
  checkInvariants,
  GUARDED_KINDS,
  postMovements,
  transfer,
} from '../../src/ledger/index.js'
import { forEachDatabase, seedTenant } from '../support/databases.js'
import { M, move, topUp, W1, W2 } from '../support/ledger-ops.js'

const running = async (db: Db, a: Account) =>
  (
    await db.query<{ balance: bigint }>(
      'SELECT balance FROM ledger_accounts WHERE tenant_id = $1 AND kind = $2 AND owner = $3 AND currency = $4',
      [a.tenantId, a.kind, a.ownerId, a.currency],
    )
  ).rows[0]?.balance

forEachDatabase(t, async (t, db) => {
  t.test('the database keeps a running balance for exactly the guarded kinds', async (t) => {
    const tenant = await seedTenant(db)
    for (const kind of ACCOUNT_KINDS) {
      const r = await db.query<{ guarded: boolean }>(
        `INSERT INTO ledger_accounts (tenant_id, kind, owner, currency) VALUES ($1, $2, $1, 'EUR')
         RETURNING guarded`,
        [tenant, kind],
      )
      t.equal(r.rows[0]!.guarded, GUARDED_KINDS.has(kind), kind)
    }
  })

  t.test('post() and postMovements() keep it, credits and debits', async (t) => {
    const tenant = await seedTenant(db)
    const wallet = accounts.walletAvailable(tenant, W1, 'EUR')
    const escrow = accounts.purseEscrow(tenant, W1, 'EUR')
    const held = accounts.merchantHeld(tenant, M, 'EUR')
    await topUp(db, tenant, 'top-1', 100n, W1)
    t.equal(await running(db, wallet), 100n)
    t.equal(await running(db, accounts.cardClearing(tenant, 'EUR')), 0n, 'not kept for a clearing account')
    await db.transaction((tx) =>
      transfer(tx, { ref: 'load-1', tenantId: tenant, from: wallet, to: escrow, amount: 60n }),
    )
    await db.transaction((tx) =>
      postMovements(tx, [
        move('offline:a:hold', tenant, escrow, held, 20n),
        move('offline:b:hold', tenant, escrow, held, 15n),
      ]),
    )
    t.same([await running(db, wallet), await running(db, escrow), await running(db, held)], [40n, 25n, 35n])
    await db.transaction((tx) => postMovements(tx, [move('offline:a:hold', tenant, escrow, held, 20n)]))
    t.equal(await running(db, escrow), 25n, 'a replay changes nothing')
    await t.rejects(
      db.transaction((tx) =>
        postMovements(tx, [
          move('offline:c:hold', tenant, escrow, held, 25n),
          move('offline:d:hold', tenant, escrow, held, 1n),
        ]),
      ),
      { code: 'insufficient_funds', detail: { balance: 0n, needed: 1n } },
    )
    t.equal(await running(db, escrow), 25n, 'a refused batch changes nothing')
    t.same(await checkInvariants(db, tenant), [])
  })

  t.test('a raw posting keeps it too, and cannot take a guarded account below zero', async (t) => {
    const tenant = await seedTenant(db)
    const wallet = accounts.walletAvailable(tenant, W1, 'EUR')
    await topUp(db, tenant, 'top-1', 10n, W1)
    const ids = await db.query<{ id: string; kind: string }>(
      'SELECT id::text, kind FROM ledger_accounts WHERE tenant_id = $1',
      [tenant],
    )
    const idOf = (kind: string) => ids.rows.find((r) => r.kind === kind)!.id
    const raw = (amount: number, credit = amount) =>
      db.transaction(async (tx) => {
        const e = await tx.query<{ id: string }>(
          "INSERT INTO ledger_entries (id, tenant_id, ref) VALUES (gen_random_uuid(), $1, 'raw-' || gen_random_uuid()) RETURNING id",
          [tenant],
        )
        await tx.query(
          `INSERT INTO ledger_postings (entry_id, seq, tenant_id, account_id, currency, amount)
           VALUES ($1, 0, $2, $3, 'EUR', $6), ($1, 1, $2, $4, 'EUR', -$5::bigint)`,
          [e.rows[0]!.id, tenant, idOf('card_clearing'), idOf('wallet_available'), amount, credit],
        )
      })
    await raw(4)
    t.equal(await running(db, wallet), 6n)
    await t.rejects(raw(7), /ledger_accounts_guarded_balance/)
    await t.rejects(raw(7, 6), /does not balance/, "migration 400's checks speak first")
    t.equal(await running(db, wallet), 6n)
    await t.rejects(
      db.query("UPDATE ledger_accounts SET balance = 5 WHERE tenant_id = $1 AND kind = 'card_clearing'", [
        tenant,
      ]),
      /ledger_accounts_guarded_balance/,
      'an unguarded account has none',
    )
    t.same(await checkInvariants(db, tenant), [])
  })

  t.test('checkInvariants reports a running balance that differs from the postings', async (t) => {
    const tenant = await seedTenant(db)
    await topUp(db, tenant, 'top-1', 10n, W2)
    await db.query(
      "UPDATE ledger_accounts SET balance = balance + 1 WHERE tenant_id = $1 AND kind = 'wallet_available'",
      [tenant],
    )
    t.same(await checkInvariants(db, tenant), [
      {
        kind: 'running_balance_mismatch',
        account: accounts.walletAvailable(tenant, W2, 'EUR'),
        running: 11n,
        balance: 10n,
      },
    ])
  })

  t.test('concurrent credits and debits of one account leave it equal to its postings', async (t) => {
    const tenant = await seedTenant(db)
    const wallet = accounts.walletAvailable(tenant, W1, 'EUR')
    const escrow = accounts.purseEscrow(tenant, W1, 'EUR')
    await topUp(db, tenant, 'top-0', 50n, W1)
    const work = Array.from({ length: 24 }, (_, i) =>
      i % 2 === 0
        ? topUp(db, tenant, `top-${i + 1}`, 5n, W1).then(() => 'topped')
        : db
            .transaction((tx) =>
              transfer(tx, { ref: `load-${i}`, tenantId: tenant, from: wallet, to: escrow, amount: 7n }),
            )
            .then(
              () => 'loaded',
              (err: { code?: string }) => err.code,
            ),
    )
    const outcomes = await Promise.all(work)
    const loaded = outcomes.filter((o) => o === 'loaded').length
    t.ok(
      outcomes.every((o) => o === 'topped' || o === 'loaded' || o === 'insufficient_funds'),
      'every top-up lands; a load lands or is refused for funds',
    )
    t.ok(loaded >= 7, 'the opening balance covers seven loads')
    t.equal(await running(db, wallet), 50n + 12n * 5n - BigInt(loaded) * 7n)
    t.equal(await running(db, escrow), BigInt(loaded) * 7n)
    t.same(await checkInvariants(db, tenant), [])
  })
})
