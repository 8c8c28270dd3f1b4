import t from 'tap'
import { ledgerPort, smsOutboxNotifier, walletsTableFreezer } from '../../src/reconcile/adapters.js'
import { Reconciler } from '../../src/reconcile/reconciler.js'
import type { TokenFacts } from '../../src/reconcile/types.js'
import { balance, forEachEngine, seedTenant, syntheticToken } from './support.js'

// Real brokers and databases on a shared machine: allow more than the package's per-file default.
t.setTimeout(300_000)

const H = 3600_000

function makeClock(start: number) {
  let now = start
  return { now: () => now, advance: (ms: number) => (now += ms), set: (v: number) => (now = v) }
}

type Seed = Awaited<ReturnType<typeof seedTenant>>

function token(s: Seed, over: Partial<TokenFacts> & { counter: number }, expiresAt: number): TokenFacts {
  return syntheticToken(s, { ...over, expiresAt })
}

t.test('reconciliation on a database', async (t) => {
  await forEachEngine(t, async (t, { db }) => {
    const T0 = Date.UTC(2026, 10, 27, 12)
    const clock = makeClock(T0)
    const rec = new Reconciler({
      db,
      ledger: ledgerPort(),
      notifier: smsOutboxNotifier(),
      wallets: walletsTableFreezer(),
      clock: clock.now,
    })
    const bal = (s: Seed, kind: string, owner: string) => balance(db, s.tenantId, kind, owner)

    await t.test('merchant first → held; payer later → confirmed', async (t) => {
      const s = await seedTenant(db, { purse: 2000 })
      const a = token(s, { counter: 1 }, T0 + 72 * H)
      const out = await db.transaction((tx) => rec.recordTokens(tx, s.tenantId, 'merchant', [a]))
      t.same(out, [{ txId: a.txId, status: 'stored', state: 'held' }])
      t.equal(await bal(s, 'purse_escrow', s.walletId), 1500)
      t.equal(await bal(s, 'merchant_held', s.merchantId), 500)
      const again = await db.transaction((tx) => rec.recordTokens(tx, s.tenantId, 'merchant', [a]))
      t.same(again, [{ txId: a.txId, status: 'duplicate', state: 'held' }], 're-delivery is harmless')
      t.equal(await bal(s, 'merchant_held', s.merchantId), 500)
      const payer = await rec.recordPayerTokens(s.tenantId, s.walletId, [a])
      t.same(payer, [{ txId: a.txId, status: 'stored', state: 'confirmed' }])
      t.equal(await bal(s, 'merchant_held', s.merchantId), 0)
      t.equal(await bal(s, 'merchant_wallet', s.merchantId), 500)
      t.equal((await rec.getPayment(s.tenantId, a.txId))?.state, 'confirmed')
    })

    await t.test('payer first → confirmed at once; tokens of another wallet refused', async (t) => {
      const s = await seedTenant(db, { purse: 2000 })
      const a = token(s, { counter: 1, amount: 1234 }, T0 + 72 * H)
      const other = token(s, { counter: 2, walletId: 'ffffffffffffffff' }, T0 + 72 * H)
      const out = await rec.recordPayerTokens(s.tenantId, s.walletId, [a, other])
      t.same(out, [
        { txId: a.txId, status: 'stored', state: 'confirmed' },
        { txId: other.txId, status: 'rejected', code: 'wrong_wallet' },
      ])
      t.equal(await bal(s, 'merchant_wallet', s.merchantId), 1234)
      const m = await db.transaction((tx) => rec.recordTokens(tx, s.tenantId, 'merchant', [a]))
      t.same(m, [{ txId: a.txId, status: 'stored', state: 'confirmed' }], 'merchant side only marks it seen')
      t.equal(await bal(s, 'merchant_wallet', s.merchantId), 1234)
      t.equal(await bal(s, 'purse_escrow', s.walletId), 2000 - 1234)
    })

    await t.test('auto-approval 72 h after first receipt, SMS queued, claim and reversal', async (t) => {
      clock.set(T0)
      const s = await seedTenant(db, { purse: 2000, phone: '+15550123' })
      const a = token(s, { counter: 1, amount: 750 }, T0 + 72 * H)
      await db.transaction((tx) => rec.recordTokens(tx, s.tenantId, 'merchant', [a]))
      clock.set(T0 + 72 * H - 1000)
      t.same(await rec.sweepOnce(), { approved: 0, released: 0 }, 'one second early: still held')
      clock.set(T0 + 72 * H)
      t.equal((await rec.sweepOnce()).approved, 1, 'at 72 h: approved')
      t.equal((await rec.sweepOnce()).approved, 0, 'once')
      t.equal(await bal(s, 'merchant_wallet', s.merchantId), 750)
      const sms = await db.query<{ to_number: string; body: string }>(
        'SELECT to_number, body FROM sms_outbox WHERE tenant_id = $1',
        [s.tenantId],
      )
      t.equal(sms.rows.length, 1)
      t.equal(sms.rows[0]?.to_number, '+15550123')
      t.match(sms.rows[0]?.body, /7\.50 EUR paid offline to Corner Shop is approved/)
      // +1 555… is no single-zone country and the tenant set no zone: the deadline is said in UTC, with the time.
      t.match(sms.rows[0]?.body, new RegExp(`Claim by 14 Dec 2026, 12:00 UTC .*ref ${a.txId.slice(-12)}`))

      clock.advance(H)
      const claimed = await rec.claimFraud({
        tenantId: s.tenantId,
        walletId: s.walletId,
        txId: a.txId,
        reason: 'lost phone',
      })
      t.equal(claimed.state, 'disputed')
      t.equal(await bal(s, 'merchant_wallet', s.merchantId), 0)
      t.equal(await bal(s, 'merchant_held', s.merchantId), 750)
      await t.rejects(
        rec.claimFraud({ tenantId: s.tenantId, walletId: s.walletId, txId: a.txId, reason: 'again' }),
        { code: 'already_disputed' },
      )
      const before = await bal(s, 'wallet_available', s.walletId)
      const r = await rec.resolveClaim({
        tenantId: s.tenantId,
        txId: a.txId,
        decision: 'reverse',
        operator: 'op-1',
      })
      t.equal(r.state, 'reversed')
      t.equal(await bal(s, 'wallet_available', s.walletId), before + 750)
      t.equal(await bal(s, 'merchant_held', s.merchantId), 0)
      await t.rejects(
        rec.resolveClaim({ tenantId: s.tenantId, txId: a.txId, decision: 'uphold', operator: 'op' }),
        {
          code: 'not_disputed',
        },
      )
    })

    await t.test('a wallet without a phone: approval still happens, the operator is told', async (t) => {
      clock.set(T0)
      const s = await seedTenant(db, { purse: 2000, phone: null })
      const a = token(s, { counter: 1, amount: 100 }, T0 + 72 * H)
      await db.transaction((tx) => rec.recordTokens(tx, s.tenantId, 'merchant', [a]))
      clock.set(T0 + 72 * H)
      await rec.sweepOnce()
      t.equal((await rec.getPayment(s.tenantId, a.txId))?.state, 'approved')
      const alerts = await db.query('SELECT kind FROM operator_alerts WHERE tenant_id = $1', [s.tenantId])
      t.same(alerts.rows, [{ kind: 'sms_undeliverable' }])
    })

    await t.test('claim on a held payment, upheld by the operator', async (t) => {
      clock.set(T0)
      const s = await seedTenant(db, { purse: 2000 })
      const a = token(s, { counter: 1, amount: 300 }, T0 + 72 * H)
      await db.transaction((tx) => rec.recordTokens(tx, s.tenantId, 'merchant', [a]))
      await rec.claimFraud({ tenantId: s.tenantId, walletId: s.walletId, txId: a.txId, reason: 'not me' })
      clock.set(T0 + 100 * H)
      t.equal((await rec.sweepOnce()).approved, 0, 'a disputed payment never auto-approves')
      await rec.resolveClaim({ tenantId: s.tenantId, txId: a.txId, decision: 'uphold', operator: 'op' })
      t.equal(await bal(s, 'merchant_wallet', s.merchantId), 300)
      t.equal(await bal(s, 'merchant_held', s.merchantId), 0)
    })

    await t.test('double spend: proof kept, wallet frozen, first received honoured', async (t) => {
      clock.set(T0)
      const s = await seedTenant(db, { purse: 2000 })
      const a = token(s, { counter: 1, amount: 500 }, T0 + 72 * H)
      const b = token(s, { counter: 1, amount: 900 }, T0 + 72 * H)
      const over = token(s, { counter: 2, amount: 1600 }, T0 + 72 * H)
      await db.transaction((tx) => rec.recordTokens(tx, s.tenantId, 'merchant', [a]))
      const out = await db.transaction((tx) => rec.recordTokens(tx, s.tenantId, 'merchant', [b, over]))
      t.same(
        out.map((o) => ('state' in o ? o.state : o.status)),
        ['refused', 'refused'],
      )
      t.equal(await bal(s, 'merchant_held', s.merchantId), 500, 'only the first is paid at arrival')
      t.equal(await bal(s, 'purse_escrow', s.walletId), 1500)
      const proofs = await db.query<{ kind: string; honoured_tx_id: string | null }>(
        'SELECT kind, honoured_tx_id FROM double_spend_proofs WHERE tenant_id = $1 ORDER BY id',
        [s.tenantId],
      )
      t.same(proofs.rows, [
        { kind: 'same_counter', honoured_tx_id: a.txId },
        { kind: 'over_purse', honoured_tx_id: null },
      ])
      const w = await db.query<{ status: string }>(
        'SELECT status FROM wallets WHERE tenant_id = $1 AND id = $2',
        [s.tenantId, s.walletId],
      )
      t.equal(w.rows[0]?.status, 'frozen')
      const alerts = await db.query('SELECT kind FROM operator_alerts WHERE tenant_id = $1', [s.tenantId])
      t.equal(alerts.rows.length, 2)
    })

    await t.test('purse leftover returns after expiry + grace once nothing is held', async (t) => {
      clock.set(T0)
      const s = await seedTenant(db, { purse: 2000 })
      const exp = T0 + 10 * H
      const a = token(s, { counter: 1, amount: 800, purseExpiresAt: exp }, exp)
      await db.transaction((tx) => rec.recordTokens(tx, s.tenantId, 'merchant', [a]))
      const avail = await bal(s, 'wallet_available', s.walletId)
      clock.set(exp + 72 * H - 1)
      await rec.sweepOnce()
      t.equal((await rec.getPayment(s.tenantId, a.txId))?.state, 'approved')
      t.equal(await bal(s, 'purse_escrow', s.walletId), 1200, 'grace not over: leftover still in escrow')
      clock.set(exp + 72 * H)
      await rec.sweepOnce()
      t.equal(await bal(s, 'wallet_available', s.walletId), avail + 1200)
      t.equal(await bal(s, 'purse_escrow', s.walletId), 0)
      await rec.sweepOnce()
      t.equal(await bal(s, 'wallet_available', s.walletId), avail + 1200, 'released once')
      // A token that arrives even later is paid from the wallet the leftover went back to.
      const late = token(s, { counter: 2, amount: 200, purseExpiresAt: exp }, exp)
      const out = await db.transaction((tx) => rec.recordTokens(tx, s.tenantId, 'merchant', [late]))
      t.same(out, [{ txId: late.txId, status: 'stored', state: 'held' }])
      t.equal(await bal(s, 'wallet_available', s.walletId), avail + 1000)
    })

    await t.test('a purse loaded but never spent offline is returned whole', async (t) => {
      clock.set(T0)
      const s = await seedTenant(db, { purse: 2000 })
      await db.query(
        `INSERT INTO wallet_purses (tenant_id, id, wallet_id, amount, per_payment_limit, currency, counter_base,
           counter_end, issuer_key_id, certificate, issued_at, expires_at)
         VALUES ($1, $2, $3, 2000, 500, 'EUR', 0, 2000, 'k1', '\\x00', $4, $5)`,
        [s.tenantId, s.walletId, s.walletId, new Date(T0), new Date(T0 + 24 * H)],
      )
      const avail = await bal(s, 'wallet_available', s.walletId)
      clock.set(T0 + 24 * H + 72 * H)
      await rec.sweepOnce()
      t.equal(await bal(s, 'wallet_available', s.walletId), avail + 2000)
      t.equal(await bal(s, 'purse_escrow', s.walletId), 0)
      await rec.sweepOnce()
      t.equal(await bal(s, 'wallet_available', s.walletId), avail + 2000, 'once')
    })

    await t.test('two replicas sweeping at once approve each payment once', async (t) => {
      clock.set(T0)
      const s = await seedTenant(db, { purse: 2000 })
      const toks = Array.from({ length: 8 }, (_, i) =>
        token(s, { counter: i + 1, amount: 100 + i }, T0 + 72 * H),
      )
      await db.transaction((tx) => rec.recordTokens(tx, s.tenantId, 'merchant', toks))
      clock.set(T0 + 73 * H)
      const other = new Reconciler({
        db,
        ledger: ledgerPort(),
        notifier: smsOutboxNotifier(),
        clock: clock.now,
        sweepBatch: 3,
      })
      await Promise.all([rec.sweepOnce(), other.sweepOnce()])
      t.equal(
        await bal(s, 'merchant_wallet', s.merchantId),
        toks.reduce((n, k) => n + k.amount, 0),
      )
      const sms = await db.query('SELECT 1 FROM sms_outbox WHERE tenant_id = $1', [s.tenantId])
      t.equal(sms.rows.length, 8, 'one SMS per payment')
    })
  })
})
