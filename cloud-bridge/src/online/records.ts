/**
 * Online payment records: the public shapes, their database rows and mapping, the request fingerprint behind
 * idempotency keys, and what a failed card payment means to the customer.
 */
import { createHash } from 'node:crypto'
import { OnlineError } from './errors.js'
import type { ChargeFailure } from './provider.js'

export interface Invoice {
  id: string
  merchantId: string
  deviceId: string | null
  reference: string
  amount: bigint
  currency: string
  status: 'open' | 'paid'
  expiresAt: Date
  paidAt: Date | null
  paymentId: string | null
}

export interface OnlinePayment {
  id: string
  kind: 'invoice' | 'topup' | 'transfer'
  method: 'card' | 'debit' | 'wallet'
  status: 'pending' | 'succeeded' | 'failed'
  failureCode: string | null
  amount: bigint
  currency: string
  invoiceId: string | null
  walletId: string | null
  merchantId: string | null
  deviceId: string | null
}

export type PaymentRow = {
  id: string
  kind: OnlinePayment['kind']
  method: OnlinePayment['method']
  status: OnlinePayment['status']
  failure_code: string | null
  amount: bigint
  currency: string
  invoice_id: string | null
  wallet_id: string | null
  merchant_id: string | null
  device_id: string | null
  request_hash: string
  provider_ref: string | null
  tenant_id: string
}

export const toPayment = (r: PaymentRow): OnlinePayment => ({
  id: r.id,
  kind: r.kind,
  method: r.method,
  status: r.status,
  failureCode: r.failure_code,
  amount: r.amount,
  currency: r.currency,
  invoiceId: r.invoice_id,
  walletId: r.wallet_id,
  merchantId: r.merchant_id,
  deviceId: r.device_id,
})

export type InvoiceRow = {
  id: string
  merchant_id: string
  device_id: string | null
  reference: string
  amount: bigint
  currency: string
  status: 'open' | 'paid'
  expires_at: Date
  paid_at: Date | null
  payment_id: string | null
}

export const toInvoice = (r: InvoiceRow): Invoice => ({
  id: r.id,
  merchantId: r.merchant_id,
  deviceId: r.device_id,
  reference: r.reference,
  amount: r.amount,
  currency: r.currency,
  status: r.status,
  expiresAt: r.expires_at,
  paidAt: r.paid_at,
  paymentId: r.payment_id,
})

export const hashRequest = (o: Record<string, unknown>) =>
  createHash('sha256')
    .update(JSON.stringify(o, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)))
    .digest('hex')

const FAILURES: Record<ChargeFailure, OnlineError['code']> = {
  card_declined: 'card_declined',
  insufficient_funds: 'insufficient_funds',
  expired_card: 'expired_card',
  provider_unavailable: 'provider_unavailable',
}

/** The error a failed card payment means to the customer. */
export function failureError(p: OnlinePayment): OnlineError | null {
  if (p.status !== 'failed') return null
  const code = FAILURES[(p.failureCode ?? 'card_declined') as ChargeFailure] ?? 'card_declined'
  return new OnlineError(code, `payment failed: ${p.failureCode}`)
}
