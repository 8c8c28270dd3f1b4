// Settlement of the merchant wallet on a real database (PostgreSQL and PGlite): released offline and QR money
// reaches a payout batch, the claim reserve stays behind until the window closes, a claim after a payout is
// paid from the reserve (never from paid money, never a negative balance), batches are idempotent per key and
// per scheduled period across concurrent builders. The ledger invariants hold after every scenario.
import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import type { Db } from '../../src/db/types.js'
import { checkInvariants } from '../../src/ledger/balances.js'
import { accounts, transfer } from '../../src/ledger/index.js'
import {
  buildPayout,
  getPayout,
  markPayoutPaid,
  merchantSettlement,
  PayoutScheduler,
  payoutFile,
  periodKey,
  setSchedule,
} from '../../src/online/index.js'
import { ledgerPort, smsOutboxNotifier, walletsTableFreezer } from '../../src/reconcile/adapters.js'
import { Reconciler } from '../../src/reconcile/reconciler.js'
import type { TokenFacts } from '../../src/reconcile/types.js'
import { balance, forEachEngine, seedTenant, syntheticToken } from '../reconcile/support.js'

t.setTimeout(300_000)

const H = 3600_000
const D = 24 * H
type Seed = Awaited<ReturnType<typeof seedTenant>>

function token(s: Seed, counter: number, amount: number, expiresAt: number): TokenFacts {
  return syntheticToken(s, { counter, amount, expiresAt })
}

/** A wallet → merchant QR transfer as the online module posts it. */
async function qrTransfer(db: Db, s: Seed, amount: number): Promise<void> {
  await db.transaction((tx) =>
    transfer(tx, {
      ref: `test-qr:${randomUUID()}`,
      tenantId: s.tenantId,
      memo: 'wallet to merchant transfer',
      from: accounts.walletAvailable(s.tenantId, s.walletId, s.currency),
      to: accounts.merchantWallet(s.tenantId, s.merchantId, s.currency),
      amount: BigInt(amount),
    }),
  )
}

async function invariantsHold(t: Test, db: Db): Promise<void> {
  const v = await checkInvariants(db)
  t.same(
    v.map((x) => JSON.stringify(x, (_, n) => (typeof n === 'bigint' ? `${n}` : n))),
    [],
    'ledger invariants hold',
  )
}

t.test('period keys follow the schedule, its hour and the tenant time zone', async (t) => {
  // Pure function of fixed instants.
  const at = Date.UTC(2026, 11, 3, 23, 30) // Thu 3 Dec 2026 23:30 UTC = Fri 4 Dec 00:30 in Berlin
  t.equal(periodKey({ frequency: 'daily', runHour: 0, timeZone: null }, at), 'daily:2026-12-03')
  t.equal(periodKey({ frequency: 'daily', runHour: 0, timeZone: 'Europe/Berlin' }, at), 'daily:2026-12-04')
  t.equal(
    periodKey({ frequency: 'daily', runHour: 6, timeZone: 'Europe/Berlin' }, at),
    'daily:2026-12-03',
    'before the run hour the period is still the previous day',
  )
  t.equal(periodKey({ frequency: 'weekly', runHour: 0, timeZone: null }, at), 'weekly:2026-W49')
  t.equal(
    periodKey({ frequency: 'weekly', runHour: 0, timeZone: null }, Date.UTC(2027, 0, 1)),
    'weekly:2026-W53',
  )
  t.equal(periodKey({ frequency: 'manual', runHour: 0, timeZone: null }, at), null)
})

t.test('merchant wallet settlement on a database', async (t) => {
  await forEachEngine(t, async (t, { db, kind }) => {
    // The reserve is measured at the instants this test names; they are issued relative to the real clock.
    const T0 = Math.floor(Date.now() / H) * H
    let now = T0
    const rec = new Reconciler({
      db,
      ledger: ledgerPort(),
      notifier: smsOutboxNotifier(),
      wallets: walletsTableFreezer(),
      clock: () => now,
    })
    const bal = (s: Seed, kind: string, owner: string) => balance(db, s.tenantId, kind, owner, s.currency)

    await t.test('released money is paid, the reserve waits, a claim after payout uses it', async (t) => {
      now = T0
      const s = await seedTenant(db, { purse: 2000 })
      const a = token(s, 1, 500, T0 + 72 * H)
      const b = token(s, 2, 400, T0 + 72 * H)
      const held = token(s, 3, 200, T0 + 72 * H)
      await rec.recordPayerTokens(s.tenantId, s.walletId, [a, b]) // confirmed: merchant_wallet, claimable 14 d
      await db.transaction((tx) => rec.recordTokens(tx, s.tenantId, 'merchant', [held]))
      await qrTransfer(db, s, 300)
      t.equal(await bal(s, 'merchant_wallet', s.merchantId), 1200)

      const first = await buildPayout(db, s.tenantId, 'EUR', {
        testMode: false,
        key: 'daily:one',
        now: T0 + H,
      })
      t.ok(first)
      t.match(first!.lines, [
        {
          merchantId: s.merchantId,
          amount: 300n,
          invoiceAmount: 0n,
          walletAmount: 300n,
          heldAmount: 200n,
          reservedAmount: 900n,
        },
      ])
      t.equal(await bal(s, 'merchant_wallet', s.merchantId), 900, 'the reserve stays in the wallet')
      t.equal(await bal(s, 'merchant_bank_payable', s.merchantId), 300)
      const again = await buildPayout(db, s.tenantId, 'EUR', {
        testMode: false,
        key: 'daily:one',
        now: T0 + H,
      })
      t.equal(again?.id, first!.id, 'the same key returns the same batch')
      t.equal(
        await buildPayout(db, s.tenantId, 'EUR', { testMode: false, now: T0 + H }),
        null,
        'nothing more is released',
      )
      await markPayoutPaid(db, s.tenantId, first!.id, new Date(T0 + 2 * H))
      t.equal(await bal(s, 'merchant_bank_payable', s.merchantId), 0)

      // A claim after the payout, inside the window: the money comes from the reserve.
      now = T0 + 3 * H
      await rec.claimFraud({ tenantId: s.tenantId, walletId: s.walletId, txId: a.txId, reason: 'not me' })
      await rec.resolveClaim({ tenantId: s.tenantId, txId: a.txId, decision: 'reverse', operator: 'op' })
      t.equal(
        await bal(s, 'merchant_wallet', s.merchantId),
        400,
        'never negative: the paid 300 was not touched',
      )
      t.equal((await getPayout(db, s.tenantId, first!.id)).lines[0]!.amount, 300n, 'the paid batch stands')

      // The guard: nothing can take the merchant wallet below zero silently.
      await t.rejects(
        db.transaction((tx) =>
          transfer(tx, {
            ref: `test-overdraw:${randomUUID()}`,
            tenantId: s.tenantId,
            from: accounts.merchantWallet(s.tenantId, s.merchantId, 'EUR'),
            to: accounts.merchantHeld(s.tenantId, s.merchantId, 'EUR'),
            amount: 401n,
          }),
        ),
        { code: 'insufficient_funds' },
      )

      // After the window, b is released; the held payment, once approved, is reserved in turn.
      now = T0 + 72 * H
      await rec.sweepOnce()
      const later = await buildPayout(db, s.tenantId, 'EUR', {
        testMode: false,
        key: 'daily:two',
        now: T0 + 15 * D,
      })
      t.match(later!.lines, [{ walletAmount: 400n, reservedAmount: 200n, heldAmount: 0n }])
      const view = await merchantSettlement(db, s.tenantId, s.merchantId, { now: T0 + 15 * D })
      t.match(view.balances, [
        { currency: 'EUR', held: 0n, reserved: 200n, released: 0n, awaitingBank: 400n, paid: 300n },
      ])
      t.equal(view.balances[0]?.nextReleaseAt?.getTime(), T0 + 72 * H + 14 * D, 'when the reserve frees up')
      t.same(
        view.batches.map((x) => [x.payoutId, x.status, x.walletAmount]),
        [
          [later!.id, 'built', 400n],
          [first!.id, 'paid', 300n],
        ],
      )
      const csv = await payoutFile(db, s.tenantId, later!.id)
      const [header, row] = csv.trimEnd().split('\r\n')
      t.match(
        header,
        /^payout_id,batch_key,status,merchant_id,merchant_name,bank_account_ref,currency,amount,amount_minor/,
      )
      t.equal(row, `${later!.id},daily:two,built,${s.merchantId},Corner Shop,,EUR,4.00,400,0,400,0`)
      await invariantsHold(t, db)
    })

    await t.test('a zero-decimal currency is written in its own digits', async (t) => {
      now = T0
      const s = await seedTenant(db, { purse: 2000, currency: 'JPY' })
      await qrTransfer(db, s, 500)
      const p = await buildPayout(db, s.tenantId, 'JPY', { testMode: false, now: T0 })
      const row = (await payoutFile(db, s.tenantId, p!.id)).split('\r\n')[1]
      t.match(row, /,JPY,500,500,0,500,0$/, '500 JPY is "500", not "5.00"')
      await invariantsHold(t, db)
    })

    await t.test('concurrent builders take each merchant’s money once', async (t) => {
      now = T0
      const s = await seedTenant(db, { purse: 2000 })
      await qrTransfer(db, s, 700)
      const keyed = await Promise.all([
        buildPayout(db, s.tenantId, 'EUR', { testMode: false, key: 'manual:same', now: T0 }),
        buildPayout(db, s.tenantId, 'EUR', { testMode: false, key: 'manual:same', now: T0 }),
      ])
      t.equal(keyed[0]?.id, keyed[1]?.id, 'one batch for one key')
      await qrTransfer(db, s, 50)
      const free = await Promise.all([
        buildPayout(db, s.tenantId, 'EUR', { testMode: false, now: T0 }),
        buildPayout(db, s.tenantId, 'EUR', { testMode: false, now: T0 }),
      ])
      t.equal(free.filter((p) => p !== null).length, 1, 'the second builder finds nothing left')
      t.equal(await bal(s, 'merchant_bank_payable', s.merchantId), 750)
      t.equal(await bal(s, 'merchant_wallet', s.merchantId), 0)
      await invariantsHold(t, db)
    })

    await t.test('the schedule builds one batch per period however many replicas run it', async (t) => {
      now = T0
      const s = await seedTenant(db, { purse: 2000 })
      await qrTransfer(db, s, 250)
      const quiet = await seedTenant(db, { purse: 2000 })
      await qrTransfer(db, quiet, 90)
      await setSchedule(db, quiet.tenantId, { frequency: 'manual', runHour: 0, timeZone: null })
      const replicas = [
        new PayoutScheduler({ db, testMode: false, clock: () => now }),
        new PayoutScheduler({ db, testMode: false, clock: () => now }),
      ]
      await Promise.all(replicas.map((r) => r.runOnce()))
      const mine = async (tenantId: string) =>
        (await db.query('SELECT id FROM payouts WHERE tenant_id = $1', [tenantId])).rows.length
      t.equal(await mine(s.tenantId), 1, 'daily by default: one batch')
      t.equal(await mine(quiet.tenantId), 0, 'a manual tenant is left alone')
      await qrTransfer(db, s, 10)
      await replicas[0]!.runOnce()
      t.equal(await mine(s.tenantId), 1, 'same period: no second batch')
      now = T0 + D
      await replicas[1]!.runOnce()
      t.equal(await mine(s.tenantId), 2, 'the next day pays what came since')
      t.equal(await bal(s, 'merchant_bank_payable', s.merchantId), 260)
      await invariantsHold(t, db)
    })
    t.comment(`engine ${kind}`)
  })
})
