/**
 * Payout batches: money due to merchants' banks (merchant_bank_payable) is paid out in batches — one line per
 * merchant and currency, listing the payments it includes. Building a batch claims those payments (each is in
 * exactly one batch); marking it paid, once the bank confirms, moves merchant_bank_payable → bank_settlement.
 */
import { newId } from '../db/ids.js'
import type { Db } from '../db/types.js'
import { accounts, transfer } from '../ledger/index.js'
import { OnlineError } from './errors.js'

export interface PayoutLine {
  merchantId: string
  amount: bigint
  bankAccountRef: string | null
  paymentIds: string[]
}

export interface Payout {
  id: string
  /** A batch of test money (sandbox): shown, never sent to a bank. */
  testMode: boolean
  currency: string
  status: 'built' | 'paid'
  createdAt: Date
  paidAt: Date | null
  lines: PayoutLine[]
}

/**
 * Build a batch of every unpaid settled invoice payment in `currency`; null when there is nothing to pay.
 * `testMode` is the bridge's mode (OnlinePayments.testMode): THE one filter keeping test money (sandbox
 * payments, `test_mode`) out of a live batch — a live bridge selects only live payments, and a test bridge
 * builds test batches, marked as such, that no bank file is ever made from.
 */
export async function buildPayout(
  db: Db,
  tenantId: string,
  currency: string,
  opts: { testMode: boolean },
): Promise<Payout | null> {
  const id = await db.transaction(async (tx) => {
    const { rows } = await tx.query<{ id: string; merchant_id: string; amount: bigint }>(
      `SELECT id, merchant_id, amount FROM online_payments
       WHERE tenant_id = $1 AND currency = $2 AND kind = 'invoice' AND status = 'succeeded' AND payout_id IS NULL
         AND test_mode = $3
       ORDER BY merchant_id, id FOR UPDATE SKIP LOCKED`,
      [tenantId, currency, opts.testMode],
    )
    if (rows.length === 0) return null
    const payoutId = newId()
    await tx.query('INSERT INTO payouts (tenant_id, id, currency, test_mode) VALUES ($1, $2, $3, $4)', [
      tenantId,
      payoutId,
      currency,
      opts.testMode,
    ])
    const byMerchant = new Map<string, { amount: bigint; ids: string[] }>()
    for (const r of rows) {
      const m = byMerchant.get(r.merchant_id) ?? { amount: 0n, ids: [] }
      m.amount += r.amount
      m.ids.push(r.id)
      byMerchant.set(r.merchant_id, m)
    }
    for (const [merchantId, m] of byMerchant) {
      const acct = await tx.query<{ bank_account_ref: string | null }>(
        'SELECT bank_account_ref FROM merchants WHERE tenant_id = $1 AND id = $2',
        [tenantId, merchantId],
      )
      await tx.query(
        `INSERT INTO payout_lines (tenant_id, payout_id, merchant_id, amount, bank_account_ref, payment_ids)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [tenantId, payoutId, merchantId, m.amount, acct.rows[0]?.bank_account_ref ?? null, m.ids],
      )
    }
    await tx.query('UPDATE online_payments SET payout_id = $2 WHERE tenant_id = $1 AND id = ANY($3)', [
      tenantId,
      payoutId,
      rows.map((r) => r.id),
    ])
    return payoutId
  })
  return id ? getPayout(db, tenantId, id) : null
}

/** The bank confirmed the batch: settle each line in the ledger. Idempotent. */
export async function markPayoutPaid(db: Db, tenantId: string, payoutId: string, now: Date): Promise<Payout> {
  await db.transaction(async (tx) => {
    const { rows } = await tx.query<{ status: string; currency: string }>(
      'SELECT status, currency FROM payouts WHERE tenant_id = $1 AND id = $2 FOR UPDATE',
      [tenantId, payoutId],
    )
    const p = rows[0]
    if (!p) throw new OnlineError('payout_not_found', 'no such payout')
    if (p.status === 'paid') return
    const lines = await tx.query<{ merchant_id: string; amount: bigint }>(
      'SELECT merchant_id, amount FROM payout_lines WHERE tenant_id = $1 AND payout_id = $2',
      [tenantId, payoutId],
    )
    for (const l of lines.rows) {
      await transfer(tx, {
        ref: `payout:${payoutId}:${l.merchant_id}`,
        tenantId,
        memo: 'payout to merchant bank',
        from: accounts.merchantBankPayable(tenantId, l.merchant_id, p.currency),
        to: accounts.bankSettlement(tenantId, p.currency),
        amount: l.amount,
      })
    }
    await tx.query(`UPDATE payouts SET status = 'paid', paid_at = $3 WHERE tenant_id = $1 AND id = $2`, [
      tenantId,
      payoutId,
      now,
    ])
  })
  return getPayout(db, tenantId, payoutId)
}

export async function getPayout(db: Db, tenantId: string, payoutId: string): Promise<Payout> {
  const { rows } = await db.query<{
    id: string
    currency: string
    status: 'built' | 'paid'
    created_at: Date
    paid_at: Date | null
    test_mode: boolean
  }>('SELECT * FROM payouts WHERE tenant_id = $1 AND id = $2', [tenantId, payoutId])
  const p = rows[0]
  if (!p) throw new OnlineError('payout_not_found', 'no such payout')
  const lines = await db.query<{
    merchant_id: string
    amount: bigint
    bank_account_ref: string | null
    payment_ids: string[]
  }>('SELECT * FROM payout_lines WHERE tenant_id = $1 AND payout_id = $2 ORDER BY merchant_id', [
    tenantId,
    payoutId,
  ])
  return {
    id: p.id,
    testMode: p.test_mode,
    currency: p.currency,
    status: p.status,
    createdAt: p.created_at,
    paidAt: p.paid_at,
    lines: lines.rows.map((l) => ({
      merchantId: l.merchant_id,
      amount: l.amount,
      bankAccountRef: l.bank_account_ref,
      paymentIds: [...l.payment_ids].sort(),
    })),
  }
}

export async function listPayouts(db: Db, tenantId: string): Promise<Payout[]> {
  const { rows } = await db.query<{ id: string }>(
    'SELECT id FROM payouts WHERE tenant_id = $1 ORDER BY created_at, id',
    [tenantId],
  )
  return Promise.all(rows.map((r) => getPayout(db, tenantId, r.id)))
}
