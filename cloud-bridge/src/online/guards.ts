/**
 * Checks an online payment makes inside its transaction, before any money moves: the invoice is open (locked),
 * the wallet may pay, the parties exist, and an idempotency key either replays its first request or conflicts.
 */
import type { Queryable, Tx } from '../db/types.js'
import { OnlineError } from './errors.js'
import type { InvoiceRow, PaymentRow } from './records.js'

export async function lockOpenInvoice(
  tx: Tx,
  tenantId: string,
  invoiceId: string,
  now: Date,
): Promise<InvoiceRow> {
  const { rows } = await tx.query<InvoiceRow>(
    'SELECT * FROM invoices WHERE tenant_id = $1 AND id = $2 FOR UPDATE',
    [tenantId, invoiceId],
  )
  const inv = rows[0]
  if (!inv) throw new OnlineError('invoice_not_found', 'no such invoice')
  if (inv.status === 'paid') throw new OnlineError('invoice_paid', 'invoice already paid')
  if (inv.expires_at.getTime() <= now.getTime()) throw new OnlineError('invoice_expired', 'invoice expired')
  const busy = await tx.query(
    `SELECT 1 FROM online_payments WHERE tenant_id = $1 AND invoice_id = $2 AND status = 'pending'`,
    [tenantId, invoiceId],
  )
  if (busy.rowCount > 0) throw new OnlineError('invoice_paid', 'a payment of this invoice is in progress')
  return inv
}

/** The wallet may pay or be topped up; returns its currency (a wallet holds one currency). */
export async function activeWallet(
  tx: Queryable,
  tenantId: string,
  walletId: string,
): Promise<{ currency: string }> {
  const w = await tx.query<{ frozen: boolean; currency: string }>(
    'SELECT frozen, currency FROM wallets WHERE tenant_id = $1 AND id = $2',
    [tenantId, walletId],
  )
  if (!w.rows[0]) throw new OnlineError('unknown_party', 'no such wallet')
  if (w.rows[0].frozen) throw new OnlineError('wallet_frozen', 'wallet is frozen')
  return { currency: w.rows[0].currency }
}

/** Refuse money in a currency other than the one the wallet, invoice or tenant is bound to. */
export function sameCurrency(bound: string, given: string, what: string): void {
  if (bound !== given) throw new OnlineError('currency_mismatch', `${what} is in ${bound}, not ${given}`)
}

/** The tenant's one currency: invoices are issued in it. */
export async function tenantCurrency(q: Queryable, tenantId: string): Promise<string> {
  const { rows } = await q.query<{ currency: string }>('SELECT currency FROM tenants WHERE id = $1', [
    tenantId,
  ])
  if (!rows[0]) throw new OnlineError('unknown_party', 'no such tenant')
  return rows[0].currency
}

/**
 * An earlier payment with this key from this caller: the same one if the request matches, a conflict if not.
 * `scope` is the caller's API key id, so one caller's key never meets another's.
 */
export async function replay(
  tx: Tx,
  tenantId: string,
  scope: string,
  key: string,
  hash: string,
): Promise<PaymentRow | null> {
  // Serialise concurrent requests with one key, so a double submission waits for the first and replays it.
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`online:${tenantId}:${scope}:${key}`])
  const { rows } = await tx.query<PaymentRow>(
    `SELECT * FROM online_payments WHERE tenant_id = $1 AND idempotency_scope = $2 AND idempotency_key = $3
     FOR UPDATE`,
    [tenantId, scope, key],
  )
  const r = rows[0]
  if (!r) return null
  if (r.request_hash !== hash)
    throw new OnlineError('idempotency_conflict', 'idempotency key used for another request')
  return r
}

/** The merchant exists in the tenant and, when given, the device is one of its boxes. */
export async function requireParty(
  q: Queryable,
  tenantId: string,
  merchantId: string,
  deviceId?: string | null,
): Promise<void> {
  const m = await q.query('SELECT 1 FROM merchants WHERE tenant_id = $1 AND id = $2', [tenantId, merchantId])
  if (m.rowCount === 0) throw new OnlineError('unknown_party', 'no such merchant')
  if (!deviceId) return
  const d = await q.query('SELECT 1 FROM devices WHERE tenant_id = $1 AND id = $2 AND merchant_id = $3', [
    tenantId,
    deviceId,
    merchantId,
  ])
  if (d.rowCount === 0) throw new OnlineError('unknown_party', 'no such device for this merchant')
}
