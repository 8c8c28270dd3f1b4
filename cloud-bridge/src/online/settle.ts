/**
 * Settling a card charge when the provider's webhook says how it ended, in one transaction: a failure marks the
 * payment failed and moves nothing; a success moves card_clearing → wallet_available (top-up) or
 * merchant_bank_payable (invoice), marks the invoice paid and records the box notice. Idempotent: a payment that
 * is no longer pending is left alone, so redelivered webhooks change nothing.
 */
import type { Tx } from '../db/types.js'
import { accounts, transfer } from '../ledger/index.js'
import { type NoticeDeps, type PendingPublish, recordNotice } from './notices.js'
import { eventTarget, ProviderError, type ProviderEvent } from './provider.js'
import type { InvoiceRow, PaymentRow } from './records.js'

/** An MQTT notice to publish after commit, and what to fall back on if that fails. */
export interface BoxPublish {
  tenantId: string
  paymentId: string
  publish: PendingPublish
}

export async function settleCharge(
  tx: Tx,
  d: NoticeDeps & { now: () => Date },
  ev: ProviderEvent,
): Promise<BoxPublish | null> {
  // The event names its tenant and payment (the charge's metadata); a provider reference is unique only within a
  // tenant, so it is never looked up alone. The webhook may arrive before charge() has returned (no ref yet).
  const { tenantId, paymentId } = eventTarget(ev)
  const { rows } = await tx.query<PaymentRow>(
    'SELECT * FROM online_payments WHERE tenant_id = $1 AND id = $2 FOR UPDATE',
    [tenantId, paymentId],
  )
  const r = rows[0]
  if (!r || r.method === 'wallet') {
    const known = await tx.query('SELECT 1 FROM tenants WHERE id = $1', [tenantId])
    if (known.rows.length === 0)
      throw new ProviderError('unknown_tenant', 'the event names no tenant of this bridge')
    throw new ProviderError('unknown_payment', 'the event names no card payment of its tenant')
  }
  if (r.provider_ref && r.provider_ref !== ev.providerRef) {
    throw new ProviderError('charge_mismatch', 'the payment was charged under another provider reference')
  }
  if (r.status !== 'pending') return null
  if (ev.type === 'charge.failed') {
    await tx.query(
      `UPDATE online_payments SET status = 'failed', failure_code = $3, settled_at = $4, provider_ref = $5
       WHERE tenant_id = $1 AND id = $2`,
      [r.tenant_id, r.id, ev.failure ?? 'card_declined', d.now(), ev.providerRef],
    )
    return null
  }
  const method = ev.funding === 'debit' ? 'debit' : 'card'
  const topUp = r.kind === 'topup'
  await transfer(tx, {
    ref: `online:${r.id}`,
    tenantId: r.tenant_id,
    memo: `${topUp ? 'top-up' : 'invoice paid'} by ${method}`,
    from: accounts.cardClearing(r.tenant_id, r.currency),
    to: topUp
      ? accounts.walletAvailable(r.tenant_id, r.wallet_id!, r.currency)
      : accounts.merchantBankPayable(r.tenant_id, r.merchant_id!, r.currency),
    amount: r.amount,
  })
  await tx.query(
    `UPDATE online_payments SET status = 'succeeded', method = $3, settled_at = $4, provider_ref = $5
     WHERE tenant_id = $1 AND id = $2`,
    [r.tenant_id, r.id, method, d.now(), ev.providerRef],
  )
  if (topUp) return null
  const inv = await tx.query<InvoiceRow>(
    `UPDATE invoices SET status = 'paid', paid_at = $3, payment_id = $4 WHERE tenant_id = $1 AND id = $2 RETURNING *`,
    [r.tenant_id, r.invoice_id, d.now(), r.id],
  )
  const i = inv.rows[0]!
  if (!i.device_id) return null
  const publish = await recordNotice(tx, d, {
    tenantId: r.tenant_id,
    deviceId: i.device_id,
    merchantId: i.merchant_id,
    paymentId: r.id,
    reference: i.reference,
    amount: r.amount,
    currency: r.currency,
  })
  return publish && { tenantId: r.tenant_id, paymentId: r.id, publish }
}
