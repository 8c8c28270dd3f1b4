/**
 * Building a payout batch: everything a tenant owes its merchants' banks in one currency, one line per merchant.
 *
 * Who is paid, from which account, in which order (README "Payouts"):
 * 1. Invoice money: succeeded invoice payments not yet in a batch, already in merchant_bank_payable.
 * 2. Released wallet money: the merchant_wallet balance (offline payments confirmed, auto-approved or upheld;
 *    QR transfers) minus the reserve, moved merchant_wallet → merchant_bank_payable as the batch is built.
 * The reserve is the rolling claim reserve: every settled offline payment still inside its claim window
 * (state confirmed/approved, claim_until after the database's now()) stays in merchant_wallet. A claim can only
 * pull back money inside its window, so a claim never reaches money already paid out, and merchant_wallet
 * (a guarded account: the ledger refuses to take it below zero) cannot go negative.
 *
 * One builder at a time per (tenant, currency) — a transaction-scoped advisory lock — so the scheduler on
 * several replicas and an operator's on-demand batch never both take the same money; a batch key makes each
 * scheduled period and each client request build at most one batch.
 */
import { newId } from '../db/ids.js'
import type { Db, Queryable } from '../db/types.js'
import { accounts, transfer } from '../ledger/index.js'
import { getPayout, type Payout } from './payouts.js'

/**
 * THE filter of invoice payments a payout may include (succeeded, not yet in a batch). Keep every rule about
 * which money may reach a payout file here — e.g. excluding sandbox/test-mode payments — so there is one
 * place to read and to change.
 */
export const PAYOUT_ELIGIBLE_INVOICE_PAYMENTS = `kind = 'invoice' AND status = 'succeeded' AND payout_id IS NULL`

/** What a merchant has in one currency, as settlement sees it (minor units). */
export interface MerchantPosition {
  merchantId: string
  /** merchant_held: offline payments on hold or disputed. */
  held: bigint
  /** merchant_wallet: settled offline and QR money not yet in a batch. */
  wallet: bigint
  /** Part of `wallet` kept back: settled offline payments still inside their claim window. */
  reserved: bigint
}

/** The money of a merchant's wallet a batch may take now: its balance minus the reserve, never below zero. */
export const releasable = (p: MerchantPosition): bigint =>
  p.wallet > p.reserved ? p.wallet - p.reserved : 0n

/**
 * Positions of a tenant's merchants in `currency` (all of them, or one), with the reserve measured at `at` (ms;
 * tests) or, by default, against the database's clock.
 */
export async function merchantPositions(
  q: Queryable,
  tenantId: string,
  currency: string,
  merchantId: string | null = null,
  at: number | null = null,
): Promise<MerchantPosition[]> {
  const { rows } = await q.query<{ owner: string; held: bigint; wallet: bigint; reserved: bigint }>(
    `WITH bal AS (
       SELECT a.owner,
              sum(CASE WHEN a.kind = 'merchant_held' THEN coalesce(p.amount, 0) ELSE 0 END)::bigint AS held,
              sum(CASE WHEN a.kind = 'merchant_wallet' THEN coalesce(p.amount, 0) ELSE 0 END)::bigint AS wallet
         FROM ledger_accounts a LEFT JOIN ledger_postings p ON p.account_id = a.id
        WHERE a.tenant_id = $1 AND a.currency = $2 AND a.kind IN ('merchant_held', 'merchant_wallet')
          AND ($3::text IS NULL OR a.owner = $3)
        GROUP BY a.owner)
     SELECT b.owner, b.held, b.wallet,
            coalesce((SELECT sum(o.amount) FROM offline_payments o
                       WHERE o.tenant_id = $1 AND o.merchant_id = b.owner AND o.currency = $2
                         AND o.state IN ('confirmed', 'approved')
                         AND o.claim_until > coalesce($4::timestamptz, now())), 0)::bigint AS reserved
       FROM bal b ORDER BY b.owner`,
    [tenantId, currency, merchantId, at === null ? null : new Date(at)],
  )
  return rows.map((r) => ({
    merchantId: r.owner,
    held: BigInt(r.held),
    wallet: BigInt(r.wallet),
    reserved: BigInt(r.reserved),
  }))
}

/** Options of `buildPayout`. */
export interface BuildOptions {
  /**
   * The bridge's mode (OnlinePayments.testMode / config mode): THE one filter keeping test money (sandbox
   * payments, `test_mode`) out of a live batch — a live bridge selects only live invoice payments, a test bridge
   * builds test batches, marked as such, that no bank file is ever made from. (A live bridge also refuses to
   * start on a database holding test money, so released wallet money in a live batch is live money.)
   */
  testMode: boolean
  /**
   * Idempotency key of the batch ('daily:2026-12-04', 'manual:<client key>'): building again with a key
   * already used returns that batch and takes nothing more. Without a key every call may build a new batch.
   */
  key?: string
  /** The instant the reserve is measured at (an injected test clock); default: the database's now(). */
  now?: number
}

interface LineDraft {
  invoice: bigint
  wallet: bigint
  held: bigint
  reserved: bigint
  paymentIds: string[]
}

/**
 * Build a batch of everything due in `currency`: invoice money and released wallet money, one line per
 * merchant. Returns null when there is nothing to pay (no empty batch is recorded).
 */
export async function buildPayout(
  db: Db,
  tenantId: string,
  currency: string,
  opts: BuildOptions,
): Promise<Payout | null> {
  const key = opts.key ?? null
  const id = await db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('opg-payout:' || $1 || ':' || $2, 0))`, [
      tenantId,
      currency,
    ])
    if (key !== null) {
      const done = await tx.query<{ id: string }>(
        'SELECT id FROM payouts WHERE tenant_id = $1 AND currency = $2 AND batch_key = $3',
        [tenantId, currency, key],
      )
      if (done.rows[0]) return done.rows[0].id
    }
    const lines = new Map<string, LineDraft>()
    const line = (m: string): LineDraft => {
      let l = lines.get(m)
      if (!l) {
        l = { invoice: 0n, wallet: 0n, held: 0n, reserved: 0n, paymentIds: [] }
        lines.set(m, l)
      }
      return l
    }
    const invoices = await tx.query<{ id: string; merchant_id: string; amount: bigint }>(
      `SELECT id, merchant_id, amount FROM online_payments
        WHERE tenant_id = $1 AND currency = $2 AND ${PAYOUT_ELIGIBLE_INVOICE_PAYMENTS} AND test_mode = $3
        ORDER BY merchant_id, id FOR UPDATE`,
      [tenantId, currency, opts.testMode],
    )
    for (const r of invoices.rows) {
      const l = line(r.merchant_id)
      l.invoice += BigInt(r.amount)
      l.paymentIds.push(r.id)
    }
    for (const p of await merchantPositions(tx, tenantId, currency, null, opts.now ?? null)) {
      const take = releasable(p)
      if (take === 0n && !lines.has(p.merchantId)) continue
      const l = line(p.merchantId)
      l.wallet = take
      l.held = p.held
      l.reserved = p.reserved
    }
    const due = [...lines].filter(([, l]) => l.invoice + l.wallet > 0n)
    if (due.length === 0) return null
    const payoutId = newId()
    await tx.query(
      'INSERT INTO payouts (tenant_id, id, currency, batch_key, test_mode) VALUES ($1, $2, $3, $4, $5)',
      [tenantId, payoutId, currency, key, opts.testMode],
    )
    for (const [merchantId, l] of due) {
      const acct = await tx.query<{ bank_account_ref: string | null }>(
        'SELECT bank_account_ref FROM merchants WHERE tenant_id = $1 AND id = $2',
        [tenantId, merchantId],
      )
      await tx.query(
        `INSERT INTO payout_lines (tenant_id, payout_id, merchant_id, amount, bank_account_ref, payment_ids,
           invoice_amount, wallet_amount, held_amount, reserved_amount)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [
          tenantId,
          payoutId,
          merchantId,
          l.invoice + l.wallet,
          acct.rows[0]?.bank_account_ref ?? null,
          l.paymentIds,
          l.invoice,
          l.wallet,
          l.held,
          l.reserved,
        ],
      )
      if (l.wallet > 0n) {
        // The released wallet money joins the invoice money owed to the bank; markPayoutPaid settles both.
        await transfer(tx, {
          ref: `payout:${payoutId}:${merchantId}:wallet`,
          tenantId,
          memo: 'merchant wallet released to payout',
          from: accounts.merchantWallet(tenantId, merchantId, currency),
          to: accounts.merchantBankPayable(tenantId, merchantId, currency),
          amount: l.wallet,
        })
      }
    }
    await tx.query('UPDATE online_payments SET payout_id = $2 WHERE tenant_id = $1 AND id = ANY($3)', [
      tenantId,
      payoutId,
      invoices.rows.map((r) => r.id),
    ])
    return payoutId
  })
  return id ? getPayout(db, tenantId, id) : null
}
