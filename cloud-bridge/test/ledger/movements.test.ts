/**
 * postMovements (batched postings): movements posted together behave like one transfer each, in order — each
 * ref once, replays and conflicts as post() has them, guarded accounts checked against the running balance and
 * locked against concurrent debits — while the journal gets one entry per tenant carrying their net per
 * account; on both engines.
 */
import fc from 'fast-check'
import t from 'tap'
import type { Db } from '../../src/db/index.js'
import {
  accountKey,
  accounts,
  balance,
  balances,
  checkInvariants,
  findEntry,
  findMovement,
  isLedgerError,
  type Movement,
  postMovements,
} from '../../src/ledger/index.js'
import { forEachDatabase, seedTenant } from '../support/databases.js'
import { fund, funded, GUARDED, M, move, movement, opArb, W1, W2 } from '../support/ledger-ops.js'

/** How many journal entries and postings a tenant has. */
async function journal(db: Db, tenant: string): Promise<{ entries: number; postings: number }> {
  const r = await db.query<{ entries: number; postings: number }>(
    `SELECT (SELECT count(*)::int FROM ledger_entries WHERE tenant_id = $1) AS entries,
            (SELECT count(*)::int FROM ledger_postings WHERE tenant_id = $1) AS postings`,
    [tenant],
  )
  return r.rows[0]!
}

forEachDatabase(t, async (t, db, kind) => {
  t.test('records every movement under its own ref and posts one netted entry', async (t) => {
    const tenant = await seedTenant(db)
    await fund(db, tenant, W1, 100n)
    await fund(db, tenant, W2, 100n)
    const before = await journal(db, tenant)
    const held = accounts.merchantHeld(tenant, M, 'EUR')
    const inputs = [
      move('pay:1', tenant, accounts.purseEscrow(tenant, W1, 'EUR'), held, 30n),
      move('pay:2', tenant, accounts.purseEscrow(tenant, W2, 'EUR'), held, 50n),
      move('pay:3', tenant, accounts.purseEscrow(tenant, W1, 'EUR'), held, 70n),
    ]
    const out = await db.transaction((tx) => postMovements(tx, inputs))
    t.same(
      out.map((m) => [m.ref, m.replayed]),
      [
        ['pay:1', false],
        ['pay:2', false],
        ['pay:3', false],
      ],
    )
    t.equal(new Set(out.map((m) => m.entryId)).size, 1, 'one entry carries all three')
    const after = await journal(db, tenant)
    t.same(
      { entries: after.entries - before.entries, postings: after.postings - before.postings },
      { entries: 1, postings: 3 },
      'one entry; postings netted per account: W1 -100, W2 -50, held +150',
    )
    t.equal(await balance(db, accounts.purseEscrow(tenant, W1, 'EUR')), 0n)
    t.equal(await balance(db, accounts.purseEscrow(tenant, W2, 'EUR')), 50n)
    t.equal(await balance(db, held), 150n)
    const m2 = await findMovement(db, tenant, 'pay:2')
    t.same(m2, {
      entryId: out[1]!.entryId,
      from: accounts.purseEscrow(tenant, W2, 'EUR'),
      to: held,
      amount: 50n,
      memo: 'payment held',
    })
    const entry = await db.query<{ memo: string }>('SELECT memo FROM ledger_entries WHERE id = $1', [
      out[0]!.entryId,
    ])
    t.equal(entry.rows[0]?.memo, '3 movements: payment held ×3')
    t.equal(await findMovement(db, tenant, 'pay:9'), null)
    t.same(await checkInvariants(db, tenant), [])
  })

  t.test('two tenants in one call: an entry each, no posting crosses', async (t) => {
    const a = await seedTenant(db)
    const b = await seedTenant(db)
    await fund(db, a, W1, 10n)
    await fund(db, b, W1, 10n)
    const out = await db.transaction((tx) =>
      postMovements(tx, [
        move('x', a, accounts.purseEscrow(a, W1, 'EUR'), accounts.merchantHeld(a, M, 'EUR'), 4n),
        move('x', b, accounts.purseEscrow(b, W1, 'EUR'), accounts.merchantHeld(b, M, 'EUR'), 6n),
      ]),
    )
    t.not(out[0]!.entryId, out[1]!.entryId)
    t.equal(await balance(db, accounts.merchantHeld(a, M, 'EUR')), 4n)
    t.equal(await balance(db, accounts.merchantHeld(b, M, 'EUR')), 6n)
    t.same(await checkInvariants(db), [])
  })

  t.test('a repeated call moves nothing twice; a mixed call posts only the new refs', async (t) => {
    const { tenant, escrow, held } = await funded(db)
    const first = await db.transaction((tx) =>
      postMovements(tx, [move('a', tenant, escrow, held, 10n), move('b', tenant, escrow, held, 20n)]),
    )
    const replay = await db.transaction((tx) =>
      postMovements(tx, [move('a', tenant, escrow, held, 10n), move('b', tenant, escrow, held, 20n)]),
    )
    t.ok(
      replay.every((m, i) => m.replayed && m.entryId === first[i]!.entryId),
      'a whole replay posts nothing',
    )
    const again = await db.transaction((tx) =>
      postMovements(tx, [
        move('b', tenant, escrow, held, 20n),
        move('c', tenant, escrow, held, 5n),
        move('a', tenant, escrow, held, 10n),
      ]),
    )
    t.same(
      again.map((m) => [m.ref, m.replayed]),
      [
        ['b', true],
        ['c', false],
        ['a', true],
      ],
    )
    t.equal(again[0]?.entryId, first[1]?.entryId, 'a replay names the entry that carried it first')
    t.not(again[1]?.entryId, first[0]?.entryId, 'the new movement has an entry of its own')
    t.equal(await balance(db, held), 35n)
    t.same(await checkInvariants(db, tenant), [])
  })

  t.test('a ref already posted with another movement is a ref_conflict and nothing is written', async (t) => {
    const { tenant, escrow, held } = await funded(db)
    await db.transaction((tx) => postMovements(tx, [move('x', tenant, escrow, held, 10n)]))
    await t.rejects(
      db.transaction((tx) =>
        postMovements(tx, [move('y', tenant, escrow, held, 1n), move('x', tenant, escrow, held, 11n)]),
      ),
      { code: 'ref_conflict' },
    )
    await t.rejects(
      db.transaction((tx) =>
        postMovements(tx, [move('x', tenant, escrow, accounts.merchantWallet(tenant, M, 'EUR'), 10n)]),
      ),
      { code: 'ref_conflict' },
      'same amount to another account',
    )
    t.equal(await findMovement(db, tenant, 'y'), null, 'the whole transaction rolled back')
    t.equal(await balance(db, held), 10n)
  })

  t.test('guarded accounts are checked against the running balance, movement by movement', async (t) => {
    const { tenant, escrow, held } = await funded(db)
    const err = await db
      .transaction((tx) =>
        postMovements(tx, [
          move('d1', tenant, escrow, held, 60n),
          move('d2', tenant, escrow, held, 30n),
          move('d3', tenant, escrow, held, 20n),
        ]),
      )
      .catch((e: unknown) => e)
    t.ok(isLedgerError(err, 'insufficient_funds'), 'the third debit would overdraw')
    t.match((err as { detail: unknown }).detail, { balance: 10n, needed: 20n })
    t.equal(await balance(db, escrow), 100n, 'nothing was posted')
    t.equal(await findMovement(db, tenant, 'd1'), null)

    // A credit earlier in the same call funds a later debit, as it would posted one by one.
    await db.transaction((tx) =>
      postMovements(tx, [
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
    const { tenant, escrow, held } = await funded(db)
    let release!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    let firstPosted!: () => void
    const posted = new Promise<void>((r) => {
      firstPosted = r
    })
    const a = db.transaction(async (tx) => {
      await postMovements(tx, [move('ca', tenant, escrow, held, 60n)])
      firstPosted()
      await gate // hold the account lock while the other call starts
    })
    await posted
    const b = db
      .transaction((tx) => postMovements(tx, [move('cb', tenant, escrow, held, 60n)]))
      .catch((e: unknown) => e)
    setTimeout(release, 50)
    await a
    t.ok(isLedgerError(await b, 'insufficient_funds'), 'the second debit saw the first one')
    t.equal(await balance(db, escrow), 40n)
    t.same(await checkInvariants(db, tenant), [])
  })

  t.test('random batches post exactly what one-by-one transfers would, or refuse whole', async (t) => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(opArb, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 6 }),
        async (batches) => {
          const tenant = await seedTenant(db)
          const model = new Map<string, bigint>()
          const done: Movement[] = []
          let entries = 0
          for (const [b, ops] of batches.entries()) {
            // The batch as movements: new ones under fresh refs, replays of earlier ones (each ref once).
            const batch: Movement[] = []
            for (const [i, o] of ops.entries()) {
              if (o.op === 'replay') {
                const again = done[o.pick % Math.max(1, done.length)]
                if (again && !batch.includes(again)) batch.push(again)
              } else {
                batch.push({
                  ref: `b${b}-${i}`,
                  tenantId: tenant,
                  memo: o.op,
                  ...movement(tenant, o),
                  amount: o.amount,
                })
              }
            }
            if (batch.length === 0) continue
            // The model posts the new ones one by one; the first that overdraws a guarded account refuses all.
            const next = new Map(model)
            let refused = false
            const fresh = batch.filter((x) => !done.includes(x))
            for (const x of fresh) {
              const from = next.get(accountKey(x.from)) ?? 0n
              if (GUARDED.has(x.from.kind) && from < x.amount) {
                refused = true
                break
              }
              next.set(accountKey(x.from), from - x.amount)
              next.set(accountKey(x.to), (next.get(accountKey(x.to)) ?? 0n) + x.amount)
            }
            const outcome = await db
              .transaction((tx) => postMovements(tx, batch))
              .then(
                (out) => out,
                (err: { code?: string }) => err.code ?? 'error',
              )
            if (refused) {
              if (outcome !== 'insufficient_funds')
                throw new Error(`batch ${b}: ${String(outcome)}, expected a refusal`)
              continue
            }
            if (typeof outcome === 'string') throw new Error(`batch ${b}: ${outcome}`)
            const replayed = outcome.filter((o) => o.replayed).map((o) => o.ref)
            const expected = batch.filter((x) => done.includes(x)).map((x) => x.ref)
            if (replayed.join() !== expected.join())
              throw new Error(`batch ${b}: replays ${replayed}, expected ${expected}`)
            if (fresh.length > 0) entries += 1
            for (const [k, v] of next) model.set(k, v)
            done.push(...fresh)
          }
          const violations = await checkInvariants(db, tenant)
          if (violations.length > 0) throw new Error(`invariants broken: ${violations.length}`)
          for (const b of await balances(db, tenant)) {
            const want = model.get(accountKey(b)) ?? 0n
            if (b.balance !== want) throw new Error(`${accountKey(b)} is ${b.balance}, model says ${want}`)
          }
          const n = await journal(db, tenant)
          if (n.entries !== entries)
            throw new Error(`${n.entries} entries, expected one per batch: ${entries}`)
          const moved = await db.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM ledger_movements WHERE tenant_id = $1',
            [tenant],
          )
          if (moved.rows[0]!.n !== done.length)
            throw new Error(`${moved.rows[0]!.n} movements, expected ${done.length}`)
        },
      ),
      { numRuns: kind === 'pglite' ? 15 : 25, seed: 4243 },
    )
    t.pass('every run matched the one-by-one model')
  })

  t.test('malformed calls are refused before anything is written', async (t) => {
    const tenant = await seedTenant(db)
    const cc = accounts.cardClearing(tenant, 'EUR')
    const wa = accounts.walletAvailable(tenant, W1, 'EUR')
    await t.rejects(
      db.transaction((tx) =>
        postMovements(tx, [move('same', tenant, cc, wa, 1n), move('same', tenant, cc, wa, 1n)]),
      ),
      { code: 'bad_posting' },
    )
    await t.rejects(
      db.transaction((tx) =>
        postMovements(tx, [move('ok', tenant, cc, wa, 1n), move('zero', tenant, cc, wa, 0n)]),
      ),
      { code: 'bad_posting' },
      'a zero amount',
    )
    await t.rejects(
      db.transaction((tx) => postMovements(tx, [move('self', tenant, wa, wa, 1n)])),
      { code: 'bad_posting' },
      'from and to the same account',
    )
    await t.rejects(
      db.transaction((tx) =>
        postMovements(tx, [move('fx', tenant, cc, accounts.walletAvailable(tenant, W1, 'USD'), 1n)]),
      ),
      { code: 'bad_posting' },
      'two currencies',
    )
    await t.rejects(postMovements(db, [move('bare', tenant, cc, wa, 1n)]), { code: 'not_in_transaction' })
    t.equal(await findMovement(db, tenant, 'ok'), null)
    t.equal(await findMovement(db, tenant, 'bare'), null)
    t.same(await db.transaction((tx) => postMovements(tx, [])), [])
  })

  t.test('movements are append-only, like entries and postings', async (t) => {
    const tenant = await seedTenant(db)
    await fund(db, tenant, W1, 10n)
    await db.transaction((tx) =>
      postMovements(tx, [
        move(
          'm',
          tenant,
          accounts.purseEscrow(tenant, W1, 'EUR'),
          accounts.merchantHeld(tenant, M, 'EUR'),
          3n,
        ),
      ]),
    )
    await t.rejects(db.query("UPDATE ledger_movements SET amount = 4 WHERE ref = 'm'"), /append-only/)
    await t.rejects(db.query("DELETE FROM ledger_movements WHERE ref = 'm'"), /append-only/)
    t.ok(await findEntry(db, tenant, 'fund:00000000000000a1'), 'single transfers stay entries of their own')
  })
})
