/**
 * The money as the console shows it, read straight from the tables every replica shares: offline payments and
 * their totals, claims, double-spend proofs, refused tokens and what their merchants are owed, payouts, merchant
 * ledger balances, and the payer SMS the payments send. Queries are scoped by tenant and, where a merchant sees
 * the data, by merchant — the same isolation as the API. Amounts stay integers in minor units here; the pages
 * format them as money.
 */
import type { Queryable } from '../api/ports.js'
import { num, type Scope } from './scope.js'

export interface PaymentRow {
  txId: string
  merchantId: string
  deviceId: string
  amount: number
  currency: string
  state: string
  firstReceivedAt: Date
  holdUntil: Date | null
}

/** Offline payments in `states` (all when empty), soonest auto-approval first for holds, else newest first. */
export async function payments(
  q: Queryable,
  s: Scope,
  filter: { states?: string[]; deviceId?: string; limit?: number },
): Promise<PaymentRow[]> {
  const { rows } = await q.query<{
    tx_id: string
    merchant_id: string
    device_id: string
    amount: bigint
    currency: string
    state: string
    first_received_at: Date
    hold_until: Date | null
  }>(
    `SELECT tx_id, merchant_id, device_id, amount, currency, state, first_received_at, hold_until
       FROM offline_payments
      WHERE tenant_id = $1 AND ($2::text IS NULL OR merchant_id = $2)
        AND (cardinality($3::text[]) = 0 OR state = ANY($3::text[]))
        AND ($4::text IS NULL OR device_id = $4)
      ORDER BY CASE WHEN state = 'held' THEN hold_until END ASC NULLS LAST, first_received_at DESC
      LIMIT $5`,
    [s.tenantId, s.merchantId, filter.states ?? [], filter.deviceId ?? null, filter.limit ?? 200],
  )
  return rows.map((r) => ({
    txId: r.tx_id,
    merchantId: r.merchant_id,
    deviceId: r.device_id,
    amount: num(r.amount),
    currency: r.currency,
    state: r.state,
    firstReceivedAt: new Date(r.first_received_at),
    holdUntil: r.hold_until ? new Date(r.hold_until) : null,
  }))
}

export interface StateTotal {
  state: string
  currency: string
  count: number
  amount: number
}

/** Count and value of offline payments per state and currency. */
export async function paymentTotals(q: Queryable, s: Scope, since?: Date): Promise<StateTotal[]> {
  const { rows } = await q.query<{ state: string; currency: string; n: bigint; total: bigint }>(
    `SELECT state, currency, count(*) AS n, sum(amount) AS total FROM offline_payments
      WHERE tenant_id = $1 AND ($2::text IS NULL OR merchant_id = $2)
        AND ($3::timestamptz IS NULL OR first_received_at >= $3)
      GROUP BY state, currency ORDER BY state, currency`,
    [s.tenantId, s.merchantId, since ?? null],
  )
  return rows.map((r) => ({ state: r.state, currency: r.currency, count: num(r.n), amount: num(r.total) }))
}

export interface ClaimRow {
  id: string
  txId: string
  walletId: string
  merchantId: string | null
  amount: number | null
  currency: string | null
  reason: string
  status: string
  filedAt: Date
}

/** Claims of the tenant (a merchant: claims against its payments), open ones first. */
export async function claims(q: Queryable, s: Scope): Promise<ClaimRow[]> {
  const { rows } = await q.query<{
    id: string
    tx_id: string
    wallet_id: string
    merchant_id: string | null
    amount: bigint | null
    currency: string | null
    reason: string
    status: string
    filed_at: Date
  }>(
    `SELECT c.id, c.tx_id, c.wallet_id, p.merchant_id, p.amount, p.currency, c.reason, c.status, c.filed_at
       FROM claims c LEFT JOIN offline_payments p ON p.tx_id = c.tx_id AND p.tenant_id = c.tenant_id
      WHERE c.tenant_id = $1 AND ($2::text IS NULL OR p.merchant_id = $2)
      ORDER BY (c.status = 'open') DESC, c.filed_at DESC LIMIT 200`,
    [s.tenantId, s.merchantId],
  )
  return rows.map((r) => ({
    id: r.id,
    txId: r.tx_id,
    walletId: r.wallet_id,
    merchantId: r.merchant_id,
    amount: r.amount === null ? null : num(r.amount),
    currency: r.currency,
    reason: r.reason,
    status: r.status,
    filedAt: new Date(r.filed_at),
  }))
}

export interface ProofRow {
  walletId: string
  kind: string
  honouredTxId: string | null
  refusedTxId: string
  detectedAt: Date
}

export async function doubleSpends(q: Queryable, tenantId: string): Promise<ProofRow[]> {
  const { rows } = await q.query<{
    wallet_id: string
    kind: string
    honoured_tx_id: string | null
    refused_tx_id: string
    detected_at: Date
  }>(
    `SELECT wallet_id, kind, honoured_tx_id, refused_tx_id, detected_at FROM double_spend_proofs
      WHERE tenant_id = $1 ORDER BY detected_at DESC LIMIT 200`,
    [tenantId],
  )
  return rows.map((r) => ({
    walletId: r.wallet_id,
    kind: r.kind,
    honouredTxId: r.honoured_tx_id,
    refusedTxId: r.refused_tx_id,
    detectedAt: new Date(r.detected_at),
  }))
}

export interface RefusedRow {
  /** The box, or the wallet whose log upload, that sent it. */
  from: string
  source: string
  txId: string | null
  code: string
  amount: number | null
  currency: string | null
  /** What the merchant holding its receipt is owed: none, awaiting_box, pending, paid, unfunded. */
  settlement: string
  receivedAt: Date
}

/** Tokens the bridge refused (refused_tokens: box batches and wallet logs), with the reason and what is owed. */
export async function refused(q: Queryable, tenantId: string): Promise<RefusedRow[]> {
  const { rows } = await q.query<{
    received_from: string
    source: string
    tx_id: string | null
    reason: string
    amount: bigint | null
    currency: string | null
    settle_state: string
    received_at: Date
  }>(
    `SELECT received_from, source, tx_id, reason, amount, currency, settle_state, received_at FROM refused_tokens
      WHERE tenant_id = $1 ORDER BY received_at DESC LIMIT 200`,
    [tenantId],
  )
  return rows.map((r) => ({
    from: r.received_from,
    source: r.source,
    txId: r.tx_id,
    code: r.reason,
    amount: r.amount === null ? null : num(r.amount),
    currency: r.currency,
    settlement: r.settle_state,
    receivedAt: new Date(r.received_at),
  }))
}

export interface PayoutRow {
  id: string
  currency: string
  status: string
  createdAt: Date
  merchants: number
  amount: number
}

export async function payouts(q: Queryable, s: Scope): Promise<PayoutRow[]> {
  const { rows } = await q.query<{
    id: string
    currency: string
    status: string
    created_at: Date
    merchants: bigint
    amount: bigint | null
  }>(
    `SELECT p.id, p.currency, p.status, p.created_at, count(l.merchant_id) AS merchants, sum(l.amount) AS amount
       FROM payouts p JOIN payout_lines l ON l.tenant_id = p.tenant_id AND l.payout_id = p.id
      WHERE p.tenant_id = $1 AND ($2::text IS NULL OR l.merchant_id = $2)
      GROUP BY p.id, p.currency, p.status, p.created_at ORDER BY p.created_at DESC LIMIT 100`,
    [s.tenantId, s.merchantId],
  )
  return rows.map((r) => ({
    id: r.id,
    currency: r.currency,
    status: r.status,
    createdAt: new Date(r.created_at),
    merchants: num(r.merchants),
    amount: num(r.amount),
  }))
}

export interface SmsRow {
  to: string
  body: string
  status: string
  attempts: number
  lastError: string | null
  createdAt: Date
  sentAt: Date | null
}

export async function smsOutbox(
  q: Queryable,
  tenantId: string,
): Promise<{ rows: SmsRow[]; byStatus: Record<string, number> }> {
  const { rows } = await q.query<{
    to_number: string
    body: string
    status: string
    attempts: number
    last_error: string | null
    created_at: Date
    sent_at: Date | null
  }>(
    `SELECT to_number, body, status, attempts, last_error, created_at, sent_at FROM sms_outbox
      WHERE tenant_id = $1 ORDER BY created_at DESC LIMIT 200`,
    [tenantId],
  )
  const counts = await q.query<{ status: string; n: bigint }>(
    'SELECT status, count(*) AS n FROM sms_outbox WHERE tenant_id = $1 GROUP BY status',
    [tenantId],
  )
  const byStatus: Record<string, number> = {}
  for (const c of counts.rows) byStatus[c.status] = num(c.n)
  return {
    byStatus,
    rows: rows.map((r) => ({
      to: r.to_number,
      body: r.body,
      status: r.status,
      attempts: num(r.attempts),
      lastError: r.last_error,
      createdAt: new Date(r.created_at),
      sentAt: r.sent_at ? new Date(r.sent_at) : null,
    })),
  }
}

/** Ledger balances of one merchant by account kind and currency (held, released to its wallet, payable). */
export async function merchantBalances(
  q: Queryable,
  tenantId: string,
  merchantId: string,
): Promise<{ kind: string; currency: string; balance: number }[]> {
  const { rows } = await q.query<{ kind: string; currency: string; balance: bigint }>(
    `SELECT kind, currency, balance FROM ledger_balances
      WHERE tenant_id = $1 AND owner = $2 AND kind IN ('merchant_held', 'merchant_wallet', 'merchant_bank_payable')
      ORDER BY kind, currency`,
    [tenantId, merchantId],
  )
  return rows.map((r) => ({ kind: r.kind, currency: r.currency, balance: num(r.balance) }))
}
