import t from 'tap'
import { ledgerPort, smsOutboxNotifier, walletsTableFreezer } from '../../src/reconcile/adapters.js'
import { applySteps } from '../../src/reconcile/executor.js'
import { Reconciler } from '../../src/reconcile/reconciler.js'
import type { TokenFacts } from '../../src/reconcile/types.js'
import { balance, forEachEngine, seedTenant, syntheticToken } from './support.js'

t.setTimeout(300_000)

const H = 3600_000
type Seed = Awaited<ReturnType<typeof seedTenant>>

function token(s: Seed, counter: number, amount: number, expiresAt: number): TokenFacts {
  return syntheticToken(s, { counter, amount, expiresAt, purseAmount: 100_000 })
}

t.test('batches through the set-based executor', async (t) => {
  await forEachEngine(t, async (t, { db }) => {
    const T0 = Date.UTC(2026, 10, 27, 12)
    let now = T0
    const rec = new Reconciler({
      db,
      ledger: ledgerPort(),
      notifier: smsOutboxNotifier(),
      wallets: walletsTableFreezer(),
      clock: () => now,
    })
    const bal = (s: Seed, kind: string, owner: string) => balance(db, s.tenantId, kind, owner)
    const refs = async (s: Seed) =>
      (
        await db.query<{ ref: string }>(
          'SELECT ref FROM ledger_movements WHERE tenant_id = $1 ORDER BY ref',
          [s.tenantId],
        )
      ).rows
        .map((r) => r.ref)
        .filter((r) => r.startsWith('offline:'))

    await t.test('a 40-token batch, its re-delivery, then the payer upload of all of it', async (t) => {
      now = T0
      const s = await seedTenant(db, { purse: 100_000 })
      const batch = Array.from({ length: 40 }, (_, i) => token(s, i + 1, 100 + i, T0 + 72 * H))
      const total = batch.reduce((a, b) => a + b.amount, 0)
      const out = await db.transaction((tx) => rec.recordTokens(tx, s.tenantId, 'merchant', batch))
      t.ok(out.every((o) => o.status === 'stored' && o.state === 'held'))
      t.equal(await bal(s, 'merchant_held', s.merchantId), total)
      t.equal(await bal(s, 'purse_escrow', s.walletId), 100_000 - total)
      const spent = await db.query<{ spent: bigint }>(
        'SELECT spent FROM offline_purses WHERE tenant_id = $1 AND purse_id = $2',
        [s.tenantId, `${s.walletId}:0`],
      )
      t.equal(Number(spent.rows[0]?.spent), total, 'purse spending summed in one update')
      t.same(
        await refs(s),
        batch.map((b) => `offline:${b.txId}:hold`).sort(),
        'one ledger movement per payment',
      )
      const entries = await db.query<{ entries: number; postings: number }>(
        `SELECT count(DISTINCT e.id)::int AS entries, count(p.*)::int AS postings
           FROM ledger_entries e JOIN ledger_postings p ON p.tenant_id = e.tenant_id AND p.entry_id = e.id
          WHERE e.tenant_id = $1 AND e.ref LIKE 'movements:%'`,
        [s.tenantId],
      )
      t.same(
        entries.rows[0],
        { entries: 1, postings: 2 },
        'the batch is one entry: escrow -total, held +total',
      )

      now += 1000
      const again = await db.transaction((tx) => rec.recordTokens(tx, s.tenantId, 'merchant', batch))
      t.ok(
        again.every((o) => o.status === 'duplicate'),
        're-delivery: all duplicates',
      )
      t.equal(await bal(s, 'merchant_held', s.merchantId), total, 'nothing moved twice')

      now += 1000
      const payer = await rec.recordPayerTokens(s.tenantId, s.walletId, batch)
      t.ok(payer.every((o) => o.status === 'stored' && o.state === 'confirmed'))
      t.equal(await bal(s, 'merchant_held', s.merchantId), 0)
      t.equal(await bal(s, 'merchant_wallet', s.merchantId), total)
      const rows = await db.query<{ n: bigint }>(
        `SELECT count(*)::bigint AS n FROM offline_payments WHERE tenant_id = $1 AND state = 'confirmed'
            AND payer_seen_at IS NOT NULL AND merchant_seen_at IS NOT NULL AND settled_at = $2`,
        [s.tenantId, new Date(now)],
      )
      t.equal(Number(rows.rows[0]?.n), 40, 'every row marked seen and transitioned')
      t.equal((await refs(s)).length, 80, 'a hold and a confirm movement per payment')
    })

    await t.test('the sweep approves many payments at once, each under its own ref', async (t) => {
      now = T0
      const s = await seedTenant(db, { purse: 100_000 })
      const batch = Array.from({ length: 25 }, (_, i) => token(s, i + 1, 10, T0 + 200 * H))
      await db.transaction((tx) => rec.recordTokens(tx, s.tenantId, 'merchant', batch))
      now = T0 + 72 * H
      t.ok((await rec.sweepOnce()).approved >= 25)
      t.equal(await bal(s, 'merchant_wallet', s.merchantId), 250)
      t.equal((await refs(s)).filter((r) => r.endsWith(':approve')).length, 25)
    })

    await t.test('a transition on a stale record aborts the whole plan', async (t) => {
      now = T0
      const s = await seedTenant(db, { purse: 100_000 })
      const [a, b] = [token(s, 1, 300, T0 + 72 * H), token(s, 2, 400, T0 + 72 * H)]
      await db.transaction((tx) => rec.recordTokens(tx, s.tenantId, 'merchant', [a, b]))
      const step = (txId: string, from: 'held' | 'confirmed') => ({
        type: 'transition' as const,
        tenantId: s.tenantId,
        txId,
        from,
        to: 'approved' as const,
        at: now,
        settledAt: now,
      })
      const err = await db
        .transaction((tx) =>
          applySteps(tx, [step(a.txId, 'held'), step(b.txId, 'confirmed')], {
            ledger: ledgerPort(),
            notifier: smsOutboxNotifier(),
          }),
        )
        .catch((e: unknown) => e)
      t.match(err, { code: 'stale_plan' })
      t.equal(
        (await rec.getPayment(s.tenantId, a.txId))?.state,
        'held',
        'the valid transition rolled back too',
      )
      t.equal((await rec.getPayment(s.tenantId, b.txId))?.state, 'held')
    })
  })
})
