import t, { type Test } from 'tap'
import { reconcilerPort } from '../../src/api/adapters.js'
import type { IssuerPort } from '../../src/api/ports.js'
import { fileClaim, getClaim, resolveClaim } from '../../src/claims/claims.js'
import type { Db } from '../../src/db/types.js'
import { checkInvariants } from '../../src/ledger/balances.js'
import { ledgerPort, smsOutboxNotifier, walletsTableFreezer } from '../../src/reconcile/adapters.js'
import { Reconciler } from '../../src/reconcile/reconciler.js'
import type { TokenFacts } from '../../src/reconcile/types.js'
import { InlineVerifier } from '../../src/verify/pool.js'
import { balance, forEachEngine, seedTenant, syntheticToken } from './support.js'

t.setTimeout(300_000)

const H = 3600_000
type Seed = Awaited<ReturnType<typeof seedTenant>>

function makeClock(start: number) {
  let now = start
  return { now: () => now, set: (v: number) => (now = v) }
}

/** A token of purse `purse` (100 minor units, reserved counters purse+1…purse+100). */
function token(
  s: Seed,
  o: { purse: number; counter: number; amount: number; expiresAt: number },
): TokenFacts {
  return syntheticToken(s, { ...o, purseAmount: 100 })
}

async function invariantsHold(t: Test, db: Db): Promise<void> {
  const v = await checkInvariants(db)
  t.same(
    v.map((x) => JSON.stringify(x, (_, n) => (typeof n === 'bigint' ? `${n}` : n))),
    [],
    'ledger invariants hold',
  )
}

t.test('settlement rules on a database', async (t) => {
  await forEachEngine(t, async (t, { db }) => {
    // Injected clock, issued relative to the real one: nothing here depends on the calendar.
    const T0 = Math.floor(Date.now() / H) * H
    const clock = makeClock(T0)
    const base = { db, ledger: ledgerPort(), notifier: smsOutboxNotifier(), wallets: walletsTableFreezer() }
    const bal = (s: Seed, kind: string, owner: string) => balance(db, s.tenantId, kind, owner)

    await t.test('more waiting purses than one page: the sweep steps over them', async (t) => {
      clock.set(T0)
      // Holds that outlast the test: these purses must wait, as purses with held payments do.
      const rec = new Reconciler({
        ...base,
        clock: clock.now,
        sweepBatch: 5,
        config: { holdSeconds: 1000 * 3600 },
      })
      const s = await seedTenant(db, { purse: 1300 })
      const exp = T0 + 10 * H
      const held = Array.from({ length: 12 }, (_, i) =>
        token(s, { purse: i * 100, counter: i * 100 + 1, amount: 10, expiresAt: exp }),
      )
      await db.transaction((tx) => rec.recordTokens(tx, s.tenantId, 'merchant', held))
      // The 13th purse expires last (so it is at the end of every page order), and its payment is disputed.
      const late = token(s, { purse: 1200, counter: 1201, amount: 10, expiresAt: exp + H })
      await rec.recordPayerTokens(s.tenantId, s.walletId, [late])
      await rec.claimFraud({ tenantId: s.tenantId, walletId: s.walletId, txId: late.txId, reason: 'not me' })
      const avail = await bal(s, 'wallet_available', s.walletId)

      clock.set(exp + H + 72 * H)
      const swept = await rec.sweepOnce()
      t.equal(swept.approved, 0, 'nothing is due for approval')
      t.equal(await bal(s, 'wallet_available', s.walletId), avail + 90, 'the disputed purse released at once')
      t.equal(await bal(s, 'purse_escrow', s.walletId), 12 * 90, 'the 12 held purses still wait')
      const released = await db.query<{ purse_id: string }>(
        'SELECT purse_id FROM offline_purses WHERE tenant_id = $1 AND released_at IS NOT NULL',
        [s.tenantId],
      )
      t.same(released.rows, [{ purse_id: late.purseId }])

      // The reversal pays the wallet from merchant_held, never from the released escrow.
      await rec.resolveClaim({ tenantId: s.tenantId, txId: late.txId, decision: 'reverse', operator: 'op' })
      t.equal(await bal(s, 'wallet_available', s.walletId), avail + 100)
      t.equal(await bal(s, 'merchant_held', s.merchantId), 12 * 10)
      await invariantsHold(t, db)
    })

    await t.test('tenants share each sweep: a backlog in one does not delay another', async (t) => {
      clock.set(T0)
      const rec = new Reconciler({ ...base, clock: clock.now, sweepBatch: 2, pursesPerTenant: 2 })
      const a = await seedTenant(db, { purse: 600 })
      const b = await seedTenant(db, { purse: 100 })
      const exp = T0 + H
      // Tenant A: six purses, each with one settled payment of 10 (the payer's log confirms them).
      const ta = Array.from({ length: 6 }, (_, i) =>
        token(a, { purse: i * 100, counter: i * 100 + 1, amount: 10, expiresAt: exp - (6 - i) * 1000 }),
      )
      await rec.recordPayerTokens(a.tenantId, a.walletId, ta)
      const tb = token(b, { purse: 0, counter: 1, amount: 10, expiresAt: exp })
      await rec.recordPayerTokens(b.tenantId, b.walletId, [tb])
      const availA = await bal(a, 'wallet_available', a.walletId)
      const availB = await bal(b, 'wallet_available', b.walletId)

      clock.set(exp + 72 * H)
      await rec.sweepOnce()
      t.equal(await bal(b, 'wallet_available', b.walletId), availB + 90, 'B is served in the first sweep')
      t.equal(await bal(a, 'wallet_available', a.walletId), availA + 2 * 90, 'A gets its share')
      await rec.sweepOnce()
      t.equal(await bal(a, 'wallet_available', a.walletId), availA + 4 * 90, 'A resumes where it stopped')
      await rec.sweepOnce()
      t.equal(await bal(a, 'wallet_available', a.walletId), availA + 6 * 90)
      t.equal(await bal(a, 'purse_escrow', a.walletId), 0)
      await rec.sweepOnce()
      t.equal(await bal(a, 'wallet_available', a.walletId), availA + 6 * 90, 'each released once')
      await invariantsHold(t, db)
    })

    await t.test('two replicas releasing purses at once release each once', async (t) => {
      clock.set(T0)
      const mk = () => new Reconciler({ ...base, clock: clock.now, sweepBatch: 3, pursesPerTenant: 4 })
      const [r1, r2] = [mk(), mk()]
      const s = await seedTenant(db, { purse: 1000 })
      const exp = T0 + H
      const toks = Array.from({ length: 10 }, (_, i) =>
        token(s, { purse: i * 100, counter: i * 100 + 1, amount: 5 + i, expiresAt: exp }),
      )
      await r1.recordPayerTokens(s.tenantId, s.walletId, toks)
      const avail = await bal(s, 'wallet_available', s.walletId)
      clock.set(exp + 72 * H)
      // Budgets of 4 per sweep: a few rounds of both replicas at once cover all ten purses.
      for (let i = 0; i < 4; i++) await Promise.all([r1.sweepOnce(), r2.sweepOnce()])
      const leftover = toks.reduce((n, k) => n + (100 - k.amount), 0)
      t.equal(await bal(s, 'wallet_available', s.walletId), avail + leftover, 'every leftover returned once')
      t.equal(await bal(s, 'purse_escrow', s.walletId), 0)
      const entries = await db.query(
        "SELECT 1 FROM ledger_movements WHERE tenant_id = $1 AND ref LIKE 'purse:%:release'",
        [s.tenantId],
      )
      t.equal(entries.rows.length, 10, 'one release movement per purse')
      await invariantsHold(t, db)
    })

    await t.test('a claim and its dispute commit together: a crash in between changes nothing', async (t) => {
      clock.set(T0)
      const rec = new Reconciler({ ...base, clock: clock.now })
      const port = reconcilerPort({
        db,
        reconciler: rec,
        verifier: new InlineVerifier(),
        issuer: {} as IssuerPort,
        clock: clock.now,
        graceS: 0,
      })
      const s = await seedTenant(db, { purse: 100 })
      const p = token(s, { purse: 0, counter: 1, amount: 40, expiresAt: T0 + 72 * H })
      await rec.recordPayerTokens(s.tenantId, s.walletId, [p])
      t.equal(await bal(s, 'merchant_wallet', s.merchantId), 40)

      // The process "dies" at the claim's own write: the statement after the dispute fails.
      await db.exec(`CREATE FUNCTION crash_here() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'injected crash'; END $$`)
      await db.exec(
        'CREATE TRIGGER claims_crash BEFORE INSERT ON claims FOR EACH ROW EXECUTE FUNCTION crash_here()',
      )
      await t.rejects(fileClaim(db, port, s.tenantId, s.walletId, p.txId, 'not me'))
      t.equal((await rec.getPayment(s.tenantId, p.txId))?.state, 'confirmed', 'the dispute rolled back too')
      t.equal(await bal(s, 'merchant_wallet', s.merchantId), 40, 'no money moved')
      const none = await db.query('SELECT 1 FROM claims WHERE tenant_id = $1', [s.tenantId])
      t.equal(none.rows.length, 0)
      await db.exec('DROP TRIGGER claims_crash ON claims')

      const claim = await fileClaim(db, port, s.tenantId, s.walletId, p.txId, 'not me')
      t.equal(claim.status, 'open', 'the retry files it')
      t.equal((await rec.getPayment(s.tenantId, p.txId))?.state, 'disputed')
      t.equal(await bal(s, 'merchant_held', s.merchantId), 40)

      // Two claims on one payment at once: one is filed, the other is a conflict; the money moves once.
      const q = token(s, { purse: 0, counter: 2, amount: 30, expiresAt: T0 + 72 * H })
      await rec.recordPayerTokens(s.tenantId, s.walletId, [q])
      const racing = await Promise.allSettled([
        fileClaim(db, port, s.tenantId, s.walletId, q.txId, 'first'),
        fileClaim(db, port, s.tenantId, s.walletId, q.txId, 'second'),
      ])
      t.equal(racing.filter((r) => r.status === 'fulfilled').length, 1, 'one claim filed')
      t.match(
        racing.find((r) => r.status === 'rejected'),
        { reason: { code: 'conflict' } },
      )
      t.equal(await bal(s, 'merchant_held', s.merchantId), 70, 'both disputes moved 40 + 30 once each')

      // The decision moves the money, then the claim's own update fails: both roll back.
      await db.exec(
        'CREATE TRIGGER claims_crash BEFORE UPDATE ON claims FOR EACH ROW EXECUTE FUNCTION crash_here()',
      )
      await t.rejects(resolveClaim(db, port, s.tenantId, claim.id, 'reverse', 'op', null))
      t.equal((await rec.getPayment(s.tenantId, p.txId))?.state, 'disputed', 'still disputed')
      t.equal(await bal(s, 'merchant_held', s.merchantId), 70, 'the money did not move')
      t.equal((await getClaim(db, s.tenantId, claim.id))?.status, 'open', 'the claim is still open')
      await db.exec('DROP TRIGGER claims_crash ON claims')
      await db.exec('DROP FUNCTION crash_here()')

      const before = await bal(s, 'wallet_available', s.walletId)
      const done = await resolveClaim(db, port, s.tenantId, claim.id, 'reverse', 'op', 'retried')
      t.match(done, { status: 'reversed', note: 'retried' }, 'the retry resolves it')
      t.equal(await bal(s, 'wallet_available', s.walletId), before + 40)
      t.equal(await bal(s, 'merchant_held', s.merchantId), 30, 'only the other dispute is still held')
      await t.rejects(resolveClaim(db, port, s.tenantId, claim.id, 'uphold', 'op', null), {
        code: 'claim_closed',
      })
      await invariantsHold(t, db)
    })

    await t.test('deadlines follow the database clock, read once per transaction', async (t) => {
      const rec = new Reconciler(base)
      const s = await seedTenant(db, { purse: 100 })
      const p = token(s, { purse: 0, counter: 1, amount: 10, expiresAt: Date.now() + 72 * H })
      const dbNow = await db.transaction(async (tx) => {
        const { rows } = await tx.query<{ now: Date }>('SELECT now() AS now')
        // Time passes inside the transaction: the database's now() stays the transaction's start.
        await new Promise((r) => setTimeout(r, 30))
        await rec.recordTokens(tx, s.tenantId, 'merchant', [p])
        return new Date(rows[0]!.now).getTime()
      })
      const stored = await rec.getPayment(s.tenantId, p.txId)
      t.equal(stored?.firstReceivedAt, dbNow, 'first receipt is the database now()')
      t.equal(stored?.holdUntil, dbNow + 72 * H, 'the hold ends 72 h after it')
      await invariantsHold(t, db)
    })
  })
})
