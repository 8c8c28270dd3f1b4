/**
 * Payout batches: money due to merchants' banks is paid out in batches — one line per merchant and currency,
 * with the invoice payments and the released wallet money it includes (built in payout-build.ts). Marking a
 * batch paid, once the bank confirms, moves merchant_bank_payable → bank_settlement.
 */
import type { Db, Queryable } from '../db/types.js'
import { accounts, transfer } from '../ledger/index.js'
import { OnlineError } from './errors.js'

/** One merchant's line of a batch (minor units). */
export interface PayoutLine {
  merchantId: string
  /** What the bank pays the merchant: invoiceAmount + walletAmount. */
  amount: bigint
  bankAccountRef: string | null
  /** The invoice payments included. */
  paymentIds: string[]
  /** Invoice money (from merchant_bank_payable). */
  invoiceAmount: bigint
  /** Released offline and QR money (from merchant_wallet). */
  walletAmount: bigint
  /** Still on hold or disputed when the batch was built (merchant_held; not paid). */
  heldAmount: bigint
  /** Kept back as the claim reserve when the batch was built (stays in merchant_wallet; not paid). */
  reservedAmount: bigint
}

export interface Payout {
  id: string
  /** The batch's idempotency key ('daily:2026-12-04', 'manual:…'), or null. */
  batchKey: string | null
  /** A batch of test money (sandbox): shown, never sent to a bank. */
  testMode: boolean
  currency: string
  status: 'built' | 'paid'
  createdAt: Date
  paidAt: Date | null
  lines: PayoutLine[]
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

interface LineRow {
  merchant_id: string
  amount: bigint
  bank_account_ref: string | null
  payment_ids: string[]
  invoice_amount: bigint
  wallet_amount: bigint
  held_amount: bigint
  reserved_amount: bigint
}

const toLine = (l: LineRow): PayoutLine => ({
  merchantId: l.merchant_id,
  amount: BigInt(l.amount),
  bankAccountRef: l.bank_account_ref,
  paymentIds: [...l.payment_ids].sort(),
  invoiceAmount: BigInt(l.invoice_amount),
  walletAmount: BigInt(l.wallet_amount),
  heldAmount: BigInt(l.held_amount),
  reservedAmount: BigInt(l.reserved_amount),
})

/** One batch of the tenant, with its lines (optionally only one merchant's line). */
export async function getPayout(
  q: Queryable,
  tenantId: string,
  payoutId: string,
  merchantId: string | null = null,
): Promise<Payout> {
  const { rows } = await q.query<{
    id: string
    batch_key: string | null
    currency: string
    status: 'built' | 'paid'
    created_at: Date
    paid_at: Date | null
    test_mode: boolean
  }>('SELECT * FROM payouts WHERE tenant_id = $1 AND id = $2', [tenantId, payoutId])
  const p = rows[0]
  if (!p) throw new OnlineError('payout_not_found', 'no such payout')
  const lines = await q.query<LineRow>(
    `SELECT * FROM payout_lines WHERE tenant_id = $1 AND payout_id = $2 AND ($3::text IS NULL OR merchant_id = $3)
     ORDER BY merchant_id`,
    [tenantId, payoutId, merchantId],
  )
  return {
    id: p.id,
    batchKey: p.batch_key,
    testMode: p.test_mode,
    currency: p.currency,
    status: p.status,
    createdAt: p.created_at,
    paidAt: p.paid_at,
    lines: lines.rows.map(toLine),
  }
}

export async function listPayouts(db: Db, tenantId: string): Promise<Payout[]> {
  const { rows } = await db.query<{ id: string }>(
    'SELECT id FROM payouts WHERE tenant_id = $1 ORDER BY created_at, id',
    [tenantId],
  )
  return Promise.all(rows.map((r) => getPayout(db, tenantId, r.id)))
}
