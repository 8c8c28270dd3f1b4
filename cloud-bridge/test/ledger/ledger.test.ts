import t from 'tap'
import {
  accounts,
  balance,
  balances,
  checkInvariants,
  findEntry,
  isLedgerError,
  post,
  transfer,
} from '../../src/ledger/index.js'
import { forEachDatabase, seedTenant } from '../support/databases.js'
import { M, topUp, W1 as W } from '../support/ledger-ops.js'

forEachDatabase(t, async (t, db) => {
  t.test('a transfer moves money and balances are derived from postings', async (t) => {
    const tenant = await seedTenant(db)
    const e = await topUp(db, tenant, 'load-1', 1000n)
    t.equal(e.replayed, false)
    t.equal(await balance(db, accounts.walletAvailable(tenant, W, 'EUR')), 1000n)
    t.equal(await balance(db, accounts.cardClearing(tenant, 'EUR')), -1000n)
    t.equal(await balance(db, accounts.purseEscrow(tenant, W, 'EUR')), 0n, 'an account never posted to is 0')
    const list = await balances(db, tenant)
    t.same(
      list.map((b) => [b.kind, b.balance]),
      [
        ['card_clearing', -1000n],
        ['wallet_available', 1000n],
      ],
    )
    t.same(await checkInvariants(db, tenant), [])
  })

  t.test('posting a ref twice moves money once and returns the first entry', async (t) => {
    const tenant = await seedTenant(db)
    const first = await topUp(db, tenant, 'load-x', 500n)
    const second = await topUp(db, tenant, 'load-x', 500n)
    t.equal(second.replayed, true)
    t.equal(second.id, first.id)
    t.equal(await balance(db, accounts.walletAvailable(tenant, W, 'EUR')), 500n)
    await t.rejects(topUp(db, tenant, 'load-x', 501n), { code: 'ref_conflict' })
    const found = await findEntry(db, tenant, 'load-x')
    t.equal(found?.postings.length, 2)
    t.equal(found?.postings[1]?.amount, 500n)
  })

  t.test('a guarded account cannot go below zero; the whole transaction rolls back', async (t) => {
    const tenant = await seedTenant(db)
    await topUp(db, tenant, 'load', 100n)
    const err = await db
      .transaction(async (tx) => {
        await transfer(tx, {
          ref: 'purse-1',
          tenantId: tenant,
          from: accounts.walletAvailable(tenant, W, 'EUR'),
          to: accounts.purseEscrow(tenant, W, 'EUR'),
          amount: 60n,
        })
        await transfer(tx, {
          ref: 'purse-2',
          tenantId: tenant,
          from: accounts.walletAvailable(tenant, W, 'EUR'),
          to: accounts.purseEscrow(tenant, W, 'EUR'),
          amount: 60n,
        })
      })
      .catch((e: unknown) => e)
    t.ok(isLedgerError(err, 'insufficient_funds'))
    t.match((err as { detail: unknown }).detail, { balance: 40n, needed: 60n })
    t.equal(
      await balance(db, accounts.walletAvailable(tenant, W, 'EUR')),
      100n,
      'purse-1 was rolled back too',
    )
    t.equal(await findEntry(db, tenant, 'purse-1'), null)
  })

  t.test('a refused debit inside a savepoint leaves the rest of the transaction', async (t) => {
    const tenant = await seedTenant(db)
    await topUp(db, tenant, 'load', 100n)
    await db.transaction(async (tx) => {
      await tx
        .savepoint((sp) =>
          transfer(sp, {
            ref: 'too-much',
            tenantId: tenant,
            from: accounts.walletAvailable(tenant, W, 'EUR'),
            to: accounts.purseEscrow(tenant, W, 'EUR'),
            amount: 101n,
          }),
        )
        .catch(() => {})
      await transfer(tx, {
        ref: 'fits',
        tenantId: tenant,
        from: accounts.walletAvailable(tenant, W, 'EUR'),
        to: accounts.purseEscrow(tenant, W, 'EUR'),
        amount: 100n,
      })
    })
    t.equal(await balance(db, accounts.purseEscrow(tenant, W, 'EUR')), 100n)
    t.equal(await balance(db, accounts.walletAvailable(tenant, W, 'EUR')), 0n)
  })

  t.test('malformed entries are refused before anything is written', async (t) => {
    const tenant = await seedTenant(db)
    const wa = accounts.walletAvailable(tenant, W, 'EUR')
    const cc = accounts.cardClearing(tenant, 'EUR')
    await db.transaction(async (tx) => {
      await t.rejects(
        post(tx, {
          ref: 'u',
          tenantId: tenant,
          postings: [
            { account: cc, amount: -10n },
            { account: wa, amount: 9n },
          ],
        }),
        { code: 'unbalanced' },
      )
      await t.rejects(
        post(tx, {
          ref: 'n',
          tenantId: tenant,
          postings: [
            { account: cc, amount: -10 as unknown as bigint },
            { account: wa, amount: 10 as unknown as bigint },
          ],
        }),
        { code: 'bad_posting' },
      )
      await t.rejects(
        post(tx, {
          ref: 'x',
          tenantId: tenant,
          postings: [
            { account: accounts.cardClearing('00000000000000ff', 'EUR'), amount: -10n },
            { account: wa, amount: 10n },
          ],
        }),
        { code: 'bad_posting' },
      )
    })
    t.same(await balances(db, tenant), [])
  })

  t.test('post() refuses to run outside a transaction', async (t) => {
    const tenant = await seedTenant(db)
    await t.rejects(
      transfer(db, {
        ref: 'bare',
        tenantId: tenant,
        from: accounts.cardClearing(tenant, 'EUR'),
        to: accounts.walletAvailable(tenant, W, 'EUR'),
        amount: 5n,
      }),
      { code: 'not_in_transaction' },
    )
    t.equal(await findEntry(db, tenant, 'bare'), null, 'nothing was written')
  })

  t.test('the journal is append-only and every entry must balance at commit', async (t) => {
    const tenant = await seedTenant(db)
    const e = await topUp(db, tenant, 'load', 10n)
    await t.rejects(
      db.query('UPDATE ledger_postings SET amount = 11 WHERE entry_id = $1', [e.id]),
      /append-only/,
    )
    await t.rejects(db.query('DELETE FROM ledger_entries WHERE id = $1', [e.id]), /append-only/)
    // Raw SQL that bypasses post() still cannot commit an unbalanced entry.
    await t.rejects(
      db.transaction(async (tx) => {
        await tx.query(
          "INSERT INTO ledger_entries (id, tenant_id, ref) VALUES (gen_random_uuid(), $1, 'raw')",
          [tenant],
        )
        await tx.query(
          `INSERT INTO ledger_postings (entry_id, seq, tenant_id, account_id, currency, amount)
             SELECT e.id, 0, $1::text, a.id, 'EUR', 7 FROM ledger_entries e, ledger_accounts a
              WHERE e.ref = 'raw' AND a.tenant_id = $1::text LIMIT 1`,
          [tenant],
        )
      }),
      /does not balance/,
    )
    t.same(await checkInvariants(db, tenant), [])
  })

  t.test('multi-currency entries balance per currency', async (t) => {
    const tenant = await seedTenant(db)
    await db.transaction((tx) =>
      post(tx, {
        ref: 'fx',
        tenantId: tenant,
        memo: 'two currencies in one entry',
        postings: [
          { account: accounts.cardClearing(tenant, 'EUR'), amount: -5n },
          { account: accounts.walletAvailable(tenant, W, 'EUR'), amount: 5n },
          { account: accounts.bankSettlement(tenant, 'USD'), amount: -7n },
          { account: accounts.merchantWallet(tenant, M, 'USD'), amount: 7n },
        ],
      }),
    )
    t.equal(await balance(db, accounts.merchantWallet(tenant, M, 'USD')), 7n)
    t.same(await checkInvariants(db, tenant), [])
  })
})
