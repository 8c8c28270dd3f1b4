/**
 * Ledger invariants under concurrency and under random sequences of movements, on both engines: the
 * journal sums to zero per currency, no guarded balance (wallet available, purse escrow, merchant held)
 * goes below zero, and the derived balances equal a simple in-memory model.
 */
import fc from 'fast-check'
import t from 'tap'
import {
  type Account,
  accountKey,
  accounts,
  balance,
  balances,
  checkInvariants,
  transfer,
} from '../../src/ledger/index.js'
import { forEachDatabase, seedTenant } from '../support/databases.js'
import { GUARDED, movement, opArb, WALLETS } from '../support/ledger-ops.js'

forEachDatabase(t, async (t, db, kind) => {
  t.test('concurrent debits of one wallet never overdraw it', async (t) => {
    const tenant = await seedTenant(db)
    const wa = accounts.walletAvailable(tenant, WALLETS[0]!, 'EUR')
    const pe = accounts.purseEscrow(tenant, WALLETS[0]!, 'EUR')
    await db.transaction((tx) =>
      transfer(tx, {
        ref: 'load',
        tenantId: tenant,
        from: accounts.cardClearing(tenant, 'EUR'),
        to: wa,
        amount: 100n,
      }),
    )
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        db.transaction((tx) =>
          transfer(tx, { ref: `debit-${i}`, tenantId: tenant, from: wa, to: pe, amount: 10n }),
        ),
      ),
    )
    const ok = results.filter((r) => r.status === 'fulfilled').length
    const refused = results.filter(
      (r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'insufficient_funds',
    )
    t.equal(ok, 10, 'exactly the funded debits succeed')
    t.equal(refused.length, 10, 'the rest are refused as insufficient_funds')
    t.equal(await balance(db, wa), 0n)
    t.equal(await balance(db, pe), 100n)
    t.same(await checkInvariants(db, tenant), [])
  })

  t.test('concurrent posts of one ref move money once', async (t) => {
    const tenant = await seedTenant(db)
    const wa = accounts.walletAvailable(tenant, WALLETS[0]!, 'EUR')
    const entries = await Promise.all(
      Array.from({ length: 8 }, () =>
        db.transaction((tx) =>
          transfer(tx, {
            ref: 'same',
            tenantId: tenant,
            from: accounts.cardClearing(tenant, 'EUR'),
            to: wa,
            amount: 25n,
          }),
        ),
      ),
    )
    t.equal(new Set(entries.map((e) => e.id)).size, 1)
    t.equal(entries.filter((e) => !e.replayed).length, 1)
    t.equal(await balance(db, wa), 25n)
  })

  t.test('crossing transfers between two wallets do not deadlock or overdraw', async (t) => {
    const tenant = await seedTenant(db)
    const [a, b] = WALLETS.map((x) => accounts.walletAvailable(tenant, x, 'EUR')) as [Account, Account]
    for (const [i, acc] of [a, b].entries()) {
      await db.transaction((tx) =>
        transfer(tx, {
          ref: `load-${i}`,
          tenantId: tenant,
          from: accounts.cardClearing(tenant, 'EUR'),
          to: acc,
          amount: 50n,
        }),
      )
    }
    await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) =>
        db.transaction((tx) =>
          transfer(tx, {
            ref: `x-${i}`,
            tenantId: tenant,
            from: i % 2 ? a : b,
            to: i % 2 ? b : a,
            amount: BigInt(7 + (i % 5) * 9),
          }),
        ),
      ),
    )
    t.equal((await balance(db, a)) + (await balance(db, b)), 100n)
    t.same(await checkInvariants(db, tenant), [])
  })

  t.test('random sequences of movements keep every invariant and match the model', async (t) => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), async (ops) => {
        const tenant = await seedTenant(db)
        const model = new Map<string, bigint>()
        const done: Array<{ ref: string; from: Account; to: Account; amount: bigint }> = []
        for (const [i, o] of ops.entries()) {
          let move: { ref: string; from: Account; to: Account; amount: bigint }
          if (o.op === 'replay') {
            if (done.length === 0) continue
            move = done[o.pick % done.length]!
          } else {
            move = { ref: `op-${i}`, ...movement(tenant, o), amount: o.amount }
          }
          const fromBal = model.get(accountKey(move.from)) ?? 0n
          const replay = o.op === 'replay'
          const shouldFail = !replay && GUARDED.has(move.from.kind) && fromBal < move.amount
          const outcome = await db
            .transaction((tx) => transfer(tx, { ...move, tenantId: tenant }))
            .then(
              (e) => (e.replayed ? 'replayed' : 'posted'),
              (err: { code?: string }) => err.code ?? 'error',
            )
          const expected = replay ? 'replayed' : shouldFail ? 'insufficient_funds' : 'posted'
          if (outcome !== expected) throw new Error(`op ${i} ${o.op}: ${outcome}, model expected ${expected}`)
          if (outcome === 'posted') {
            model.set(accountKey(move.from), fromBal - move.amount)
            model.set(accountKey(move.to), (model.get(accountKey(move.to)) ?? 0n) + move.amount)
            done.push(move)
          }
        }
        const violations = await checkInvariants(db, tenant)
        if (violations.length > 0)
          throw new Error(
            `invariants broken: ${JSON.stringify(violations, (_, v) => (typeof v === 'bigint' ? `${v}` : v))}`,
          )
        for (const b of await balances(db, tenant)) {
          const want = model.get(accountKey(b)) ?? 0n
          if (b.balance !== want) throw new Error(`${accountKey(b)} is ${b.balance}, model says ${want}`)
        }
      }),
      { numRuns: kind === 'pglite' ? 15 : 25, seed: 4242 },
    )
    t.pass('all runs matched the model')
  })
})
