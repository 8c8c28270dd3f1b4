/**
 * postMany: several entries in one call behave exactly like post() for each in order — each ref once,
 * replays and conflicts as post() has them, guarded accounts checked against the running balance and
 * locked against concurrent debits — on both engines.
 */
import t from 'tap'
import type { Db } from '../../src/db/index.js'
import {
  type Account,
  accounts,
  balance,
  checkInvariants,
  type EntryInput,
  findEntry,
  isLedgerError,
  postMany,
  transfer,
} from '../../src/ledger/index.js'
import { forEachDatabase, seedTenant } from '../support/databases.js'

const W1 = '00000000000000a1'
const W2 = '00000000000000a2'
const M = '00000000000000b1'

const move = (ref: string, tenantId: string, from: Account, to: Account, amount: bigint): EntryInput => ({
  ref,
  tenantId,
  memo: `move ${ref}`,
  postings: [
    { account: from, amount: -amount },
    { account: to, amount },
  ],
})

/** Fund a wallet's purse escrow from the tenant's suspense account. */
function fund(db: Db, tenant: string, wallet: string, amount: bigint) {
  return db.transaction((tx) =>
    transfer(tx, {
      ref: `fund:${wallet}`,
      tenantId: tenant,
      from: accounts.suspense(tenant, 'EUR'),
      to: accounts.purseEscrow(tenant, wallet, 'EUR'),
      amount,
    }),
  )
}

forEachDatabase(
  t,
  async (t, db) => {
    t.test('posts every entry under its own ref, in order, and balances follow', async (t) => {
      const tenant = await seedTenant(db)
      await fund(db, tenant, W1, 100n)
      await fund(db, tenant, W2, 100n)
      const held = accounts.merchantHeld(tenant, M, 'EUR')
      const inputs = [
        move('pay:1', tenant, accounts.purseEscrow(tenant, W1, 'EUR'), held, 30n),
        move('pay:2', tenant, accounts.purseEscrow(tenant, W2, 'EUR'), held, 50n),
        move('pay:3', tenant, accounts.purseEscrow(tenant, W1, 'EUR'), held, 70n),
      ]
      const out = await db.transaction((tx) => postMany(tx, inputs))
      t.same(
        out.map((e) => [e.ref, e.replayed, e.postings.length]),
        [
          ['pay:1', false, 2],
          ['pay:2', false, 2],
          ['pay:3', false, 2],
        ],
      )
      t.equal(await balance(db, accounts.purseEscrow(tenant, W1, 'EUR')), 0n)
      t.equal(await balance(db, accounts.purseEscrow(tenant, W2, 'EUR')), 50n)
      t.equal(await balance(db, held), 150n)
      const e2 = await findEntry(db, tenant, 'pay:2')
      t.equal(e2?.id, out[1]?.id, 'each movement is its own entry, found by its ref')
      t.equal(e2?.memo, 'move pay:2')
      t.same(await checkInvariants(db, tenant), [])
    })

    t.test('a repeated call moves nothing twice; a mixed call posts only the new refs', async (t) => {
      const tenant = await seedTenant(db)
      await fund(db, tenant, W1, 100n)
      const held = accounts.merchantHeld(tenant, M, 'EUR')
      const escrow = accounts.purseEscrow(tenant, W1, 'EUR')
      const first = await db.transaction((tx) =>
        postMany(tx, [move('a', tenant, escrow, held, 10n), move('b', tenant, escrow, held, 20n)]),
      )
      const again = await db.transaction((tx) =>
        postMany(tx, [
          move('b', tenant, escrow, held, 20n),
          move('c', tenant, escrow, held, 5n),
          move('a', tenant, escrow, held, 10n),
        ]),
      )
      t.same(
        again.map((e) => [e.ref, e.replayed]),
        [
          ['b', true],
          ['c', false],
          ['a', true],
        ],
      )
      t.equal(again[0]?.id, first[1]?.id, 'a replay returns the first entry')
      t.equal(again[0]?.postings[1]?.amount, 20n)
      t.equal(await balance(db, held), 35n)
      t.same(await checkInvariants(db, tenant), [])
    })

    t.test('a ref already posted with other postings is a ref_conflict and nothing is written', async (t) => {
      const tenant = await seedTenant(db)
      await fund(db, tenant, W1, 100n)
      const held = accounts.merchantHeld(tenant, M, 'EUR')
      const escrow = accounts.purseEscrow(tenant, W1, 'EUR')
      await db.transaction((tx) => postMany(tx, [move('x', tenant, escrow, held, 10n)]))
      await t.rejects(
        db.transaction((tx) =>
          postMany(tx, [move('y', tenant, escrow, held, 1n), move('x', tenant, escrow, held, 11n)]),
        ),
        { code: 'ref_conflict' },
      )
      t.equal(await findEntry(db, tenant, 'y'), null, 'the whole transaction rolled back')
      t.equal(await balance(db, held), 10n)
    })

    t.test('guarded accounts are checked against the running balance, entry by entry', async (t) => {
      const tenant = await seedTenant(db)
      await fund(db, tenant, W1, 100n)
      const held = accounts.merchantHeld(tenant, M, 'EUR')
      const escrow = accounts.purseEscrow(tenant, W1, 'EUR')
      const err = await db
        .transaction((tx) =>
          postMany(tx, [
            move('d1', tenant, escrow, held, 60n),
            move('d2', tenant, escrow, held, 30n),
            move('d3', tenant, escrow, held, 20n),
          ]),
        )
        .catch((e: unknown) => e)
      t.ok(isLedgerError(err, 'insufficient_funds'), 'the third debit would overdraw')
      t.match((err as { detail: unknown }).detail, { balance: 10n, needed: 20n })
      t.equal(await balance(db, escrow), 100n, 'nothing was posted')
      t.equal(await findEntry(db, tenant, 'd1'), null)

      // A credit earlier in the same call funds a later debit, as it would posted one by one.
      await db.transaction((tx) =>
        postMany(tx, [
          move(
            'in',
            tenant,
            accounts.suspense(tenant, 'EUR'),
            accounts.walletAvailable(tenant, W2, 'EUR'),
            40n,
          ),
          move('out', tenant, accounts.walletAvailable(tenant, W2, 'EUR'), held, 40n),
        ]),
      )
      t.equal(await balance(db, accounts.walletAvailable(tenant, W2, 'EUR')), 0n)
      t.same(await checkInvariants(db, tenant), [])
    })

    t.test('concurrent calls cannot overdraw a guarded account together', async (t) => {
      const tenant = await seedTenant(db)
      await fund(db, tenant, W1, 100n)
      const held = accounts.merchantHeld(tenant, M, 'EUR')
      const escrow = accounts.purseEscrow(tenant, W1, 'EUR')
      let release!: () => void
      const gate = new Promise<void>((r) => {
        release = r
      })
      let firstPosted!: () => void
      const posted = new Promise<void>((r) => {
        firstPosted = r
      })
      const a = db.transaction(async (tx) => {
        await postMany(tx, [move('ca', tenant, escrow, held, 60n)])
        firstPosted()
        await gate // hold the account lock while the other call starts
      })
      await posted
      const b = db
        .transaction((tx) => postMany(tx, [move('cb', tenant, escrow, held, 60n)]))
        .catch((e: unknown) => e)
      setTimeout(release, 50)
      await a
      t.ok(isLedgerError(await b, 'insufficient_funds'), 'the second debit saw the first one')
      t.equal(await balance(db, escrow), 40n)
      t.same(await checkInvariants(db, tenant), [])
    })

    t.test('malformed calls are refused before anything is written', async (t) => {
      const tenant = await seedTenant(db)
      const cc = accounts.cardClearing(tenant, 'EUR')
      const wa = accounts.walletAvailable(tenant, W1, 'EUR')
      await t.rejects(
        db.transaction((tx) =>
          postMany(tx, [move('same', tenant, cc, wa, 1n), move('same', tenant, cc, wa, 1n)]),
        ),
        { code: 'bad_posting' },
      )
      await t.rejects(
        db.transaction((tx) =>
          postMany(tx, [
            move('ok', tenant, cc, wa, 1n),
            {
              ref: 'odd',
              tenantId: tenant,
              postings: [
                { account: cc, amount: -2n },
                { account: wa, amount: 1n },
              ],
            },
          ]),
        ),
        { code: 'unbalanced' },
      )
      await t.rejects(postMany(db, [move('bare', tenant, cc, wa, 1n)]), { code: 'not_in_transaction' })
      t.equal(await findEntry(db, tenant, 'ok'), null)
      t.equal(await findEntry(db, tenant, 'bare'), null)
      t.same(await db.transaction((tx) => postMany(tx, [])), [])
    })
  },
  { migrate: { upTo: 99 } },
)
