/**
 * What a merchant sees of its settlement: per currency, the money on hold, reserved for the claim window,
 * released (goes in the next batch), awaiting the bank and paid; and each batch that paid it, with what the
 * batch paid and what it left held and reserved.
 */
import type { Queryable } from '../db/types.js'
import { merchantPositions, releasable } from './payout-build.js'

/** One currency of a merchant's settlement (minor units). */
export interface SettlementBalance {
  currency: string
  /** Offline payments on hold or disputed (merchant_held). */
  held: bigint
  /** Settled offline payments still inside their claim window: kept in merchant_wallet, not paid yet. */
  reserved: bigint
  /** merchant_wallet money the next batch pays. */
  released: bigint
  /** In a built batch, waiting for the bank (merchant_bank_payable; includes invoice money not yet batched). */
  awaitingBank: bigint
  /** Paid by the bank, all batches. */
  paid: bigint
  /** When the earliest reserved payment leaves the reserve, or null. */
  nextReleaseAt: Date | null
}

/** One batch line of the merchant. */
export interface SettlementBatch {
  payoutId: string
  batchKey: string | null
  currency: string
  status: 'built' | 'paid'
  createdAt: Date
  paidAt: Date | null
  amount: bigint
  invoiceAmount: bigint
  walletAmount: bigint
  heldAmount: bigint
  reservedAmount: bigint
}

export interface MerchantSettlement {
  merchantId: string
  balances: SettlementBalance[]
  batches: SettlementBatch[]
}

/** The merchant's settlement in its tenant (the caller has checked the merchant belongs to it). */
export async function merchantSettlement(
  q: Queryable,
  tenantId: string,
  merchantId: string,
  opts: { limit?: number; now?: number } = {},
): Promise<MerchantSettlement> {
  // The reserve is measured at the database's now(), unless a test names the instant.
  const at = opts.now === undefined ? null : new Date(opts.now)
  const cur = await q.query<{ currency: string }>(
    `SELECT DISTINCT currency FROM ledger_accounts WHERE tenant_id = $1 AND owner = $2
       AND kind IN ('merchant_held', 'merchant_wallet', 'merchant_bank_payable') ORDER BY currency`,
    [tenantId, merchantId],
  )
  const balances: SettlementBalance[] = []
  for (const { currency } of cur.rows) {
    const pos = (await merchantPositions(q, tenantId, currency, merchantId, opts.now ?? null))[0]
    const more = await q.query<{ payable: bigint; paid: bigint; next: Date | null }>(
      `SELECT
         coalesce((SELECT sum(p.amount) FROM ledger_accounts a JOIN ledger_postings p ON p.account_id = a.id
                    WHERE a.tenant_id = $1 AND a.kind = 'merchant_bank_payable' AND a.owner = $2
                      AND a.currency = $3), 0)::bigint AS payable,
         coalesce((SELECT sum(l.amount) FROM payout_lines l JOIN payouts b
                     ON b.tenant_id = l.tenant_id AND b.id = l.payout_id
                    WHERE l.tenant_id = $1 AND l.merchant_id = $2 AND b.currency = $3 AND b.status = 'paid'), 0)::bigint
           AS paid,
         (SELECT min(o.claim_until) FROM offline_payments o
           WHERE o.tenant_id = $1 AND o.merchant_id = $2 AND o.currency = $3
             AND o.state IN ('confirmed', 'approved')
             AND o.claim_until > coalesce($4::timestamptz, now())) AS next`,
      [tenantId, merchantId, currency, at],
    )
    const m = more.rows[0]!
    balances.push({
      currency,
      held: pos?.held ?? 0n,
      reserved: pos?.reserved ?? 0n,
      released: pos ? releasable(pos) : 0n,
      awaitingBank: BigInt(m.payable),
      paid: BigInt(m.paid),
      nextReleaseAt: m.next ? new Date(m.next) : null,
    })
  }
  const { rows } = await q.query<{
    payout_id: string
    batch_key: string | null
    currency: string
    status: 'built' | 'paid'
    created_at: Date
    paid_at: Date | null
    amount: bigint
    invoice_amount: bigint
    wallet_amount: bigint
    held_amount: bigint
    reserved_amount: bigint
  }>(
    `SELECT l.payout_id, b.batch_key, b.currency, b.status, b.created_at, b.paid_at, l.amount, l.invoice_amount,
            l.wallet_amount, l.held_amount, l.reserved_amount
       FROM payout_lines l JOIN payouts b ON b.tenant_id = l.tenant_id AND b.id = l.payout_id
      WHERE l.tenant_id = $1 AND l.merchant_id = $2
      ORDER BY b.created_at DESC, b.id LIMIT $3`,
    [tenantId, merchantId, opts.limit ?? 100],
  )
  return {
    merchantId,
    balances,
    batches: rows.map((r) => ({
      payoutId: r.payout_id,
      batchKey: r.batch_key,
      currency: r.currency,
      status: r.status,
      createdAt: new Date(r.created_at),
      paidAt: r.paid_at ? new Date(r.paid_at) : null,
      amount: BigInt(r.amount),
      invoiceAmount: BigInt(r.invoice_amount),
      walletAmount: BigInt(r.wallet_amount),
      heldAmount: BigInt(r.held_amount),
      reservedAmount: BigInt(r.reserved_amount),
    })),
  }
}
