/**
 * What the console shows, read straight from the tables every replica shares. Every query is scoped by tenant
 * and, for a merchant session, by merchant — the same isolation as the API. Amounts stay integers in minor
 * units here; the pages format them as money.
 */
import type { Queryable } from '../api/ports.js'

/** A session's view of the data: the tenant, and the merchant when a merchant is signed in. */
export interface Scope {
  tenantId: string
  merchantId: string | null
}

export interface BoxRow {
  id: string
  label: string
  merchantId: string
  merchantName: string
  lastSeenAt: Date | null
  online: boolean
  pendingCount: number
  /** Value the box reports it holds unsynced, by currency (its last status). */
  pendingAmount: Record<string, number>
  version: string | null
  revoked: boolean
  /** How long the payments it holds have waited for a link (offline boxes holding payments), ms. */
  unsyncedForMs: number
  /** Storage problems its last status reported (null when none). */
  storage: BoxStorage | null
  /**
   * The revocation list: the version the box last said it applies (null: none reported) and the tenant's
   * current one (0: no list yet). A box behind may still take a wallet frozen since.
   */
  revocations: { applied: number | null; current: number }
}

/**
 * A box that can still take a wallet frozen since its last status: unrevoked, and the version of the revocation
 * list it reported is below the tenant's current one (the bridge sends the list when the box next reports).
 */
export function revocationsBehind(b: BoxRow): boolean {
  return !b.revoked && b.revocations.current > 0 && (b.revocations.applied ?? -1) < b.revocations.current
}

/** What a box's status says is wrong with its storage (protocol OnlineStatusSchema `storage`). */
export interface BoxStorage {
  quarantined: number
  lostRecords: number
  stateRebuilt: boolean
  freeLow: boolean
  /** Box time (ms) of a power-fail event, if one happened in the box's current run. */
  powerFailAt: number | null
  powerFlushFailed: boolean
}

/** Kinds of storage alert, as `/metrics` labels them (`opg_boxes_storage_alert{kind}`). */
export const STORAGE_ALERT_KINDS = [
  'quarantined',
  'lost_records',
  'state_rebuilt',
  'free_low',
  'power_fail',
] as const

/** The storage health in a box's last status (devices.status); anything malformed counts as none. */
export function storageOf(raw: unknown): BoxStorage | null {
  const status = typeof raw === 'string' ? JSON.parse(raw) : raw
  const st = (status as { storage?: unknown } | null)?.storage as Record<string, unknown> | undefined
  if (!st || typeof st !== 'object') return null
  const int = (v: unknown) => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : 0)
  return {
    quarantined: int(st.quarantined),
    lostRecords: int(st.lostRecords),
    stateRebuilt: st.stateRebuilt === true,
    freeLow: st.freeLow === true,
    powerFailAt: Number.isSafeInteger(st.powerFailAt) ? (st.powerFailAt as number) : null,
    powerFlushFailed: st.powerFlushFailed === true,
  }
}

/** Which alert kinds a box's storage report raises. */
export function storageAlertKinds(st: BoxStorage | null): (typeof STORAGE_ALERT_KINDS)[number][] {
  if (!st) return []
  return [
    ...(st.quarantined > 0 ? (['quarantined'] as const) : []),
    ...(st.lostRecords > 0 ? (['lost_records'] as const) : []),
    ...(st.stateRebuilt ? (['state_rebuilt'] as const) : []),
    ...(st.freeLow ? (['free_low'] as const) : []),
    ...(st.powerFailAt !== null ? (['power_fail'] as const) : []),
  ]
}

const num = (v: unknown): number => Number(v ?? 0)

/**
 * What a box's last status (devices.status, jsonb: an object, or its text on some drivers) says it holds
 * unsynced, by currency; anything malformed counts as nothing. Shared by the console and /metrics.
 */
export function pendingAmountOf(raw: unknown): Record<string, number> {
  const status = typeof raw === 'string' ? JSON.parse(raw) : raw
  const pa = (status as { pendingAmount?: unknown } | null)?.pendingAmount
  if (!pa || typeof pa !== 'object') return {}
  const out: Record<string, number> = {}
  for (const [cur, v] of Object.entries(pa))
    if (/^[A-Z]{3}$/.test(cur) && Number.isSafeInteger(v)) out[cur] = v as number
  return out
}

/**
 * The boxes, riskiest first: offline boxes holding payments (longest unseen first), then online boxes still
 * syncing, then the rest; revoked boxes last.
 */
export async function boxes(q: Queryable, s: Scope, now: Date): Promise<BoxRow[]> {
  const { rows } = await q.query<{
    id: string
    label: string
    merchant_id: string
    merchant_name: string
    last_seen_at: Date | null
    online: boolean
    pending_count: number
    status: unknown
    revoked_at: Date | null
    revocation_version: string | number | null
  }>(
    `SELECT d.id, d.label, d.merchant_id, m.name AS merchant_name, d.last_seen_at, d.online, d.pending_count,
            d.status, d.revoked_at,
            (SELECT max(r.version) FROM revocation_lists r WHERE r.tenant_id = d.tenant_id) AS revocation_version
       FROM devices d JOIN merchants m ON m.tenant_id = d.tenant_id AND m.id = d.merchant_id
      WHERE d.tenant_id = $1 AND ($2::text IS NULL OR d.merchant_id = $2)`,
    [s.tenantId, s.merchantId],
  )
  const out = rows.map((r): BoxRow => {
    const lastSeenAt = r.last_seen_at ? new Date(r.last_seen_at) : null
    const pendingCount = num(r.pending_count)
    const status = typeof r.status === 'string' ? JSON.parse(r.status) : r.status
    return {
      id: r.id,
      label: r.label,
      merchantId: r.merchant_id,
      merchantName: r.merchant_name,
      lastSeenAt,
      online: r.online,
      pendingCount,
      pendingAmount: pendingAmountOf(status),
      version: typeof status?.version === 'string' ? status.version : null,
      revoked: r.revoked_at !== null,
      unsyncedForMs:
        !r.online && pendingCount > 0 && lastSeenAt ? Math.max(0, now.getTime() - lastSeenAt.getTime()) : 0,
      storage: storageOf(status),
      revocations: {
        // −1 in a status: the box applies no list yet.
        applied:
          typeof status?.revocations === 'number' && status.revocations >= 0 ? status.revocations : null,
        current: r.revocation_version === null ? 0 : Number(r.revocation_version),
      },
    }
  })
  const tier = (b: BoxRow) => (b.revoked ? 3 : b.pendingCount > 0 ? (b.online ? 1 : 0) : 2)
  return out.sort(
    (a, b) => tier(a) - tier(b) || b.unsyncedForMs - a.unsyncedForMs || b.pendingCount - a.pendingCount,
  )
}

/** Fleet-wide unsynced exposure by currency: the sum of what every live box reports holding. */
export function exposure(rows: BoxRow[]): Record<string, number> {
  const total: Record<string, number> = {}
  for (const b of rows) {
    if (b.revoked) continue
    for (const [cur, v] of Object.entries(b.pendingAmount)) total[cur] = (total[cur] ?? 0) + v
  }
  return total
}

/** Record the tenant's exposure now (one row per currency), for the chart and the alert. */
export async function sampleExposure(q: Queryable, now: Date): Promise<number> {
  const { rows } = await q.query<{ tenant_id: string; status: unknown }>(
    `SELECT tenant_id, status FROM devices WHERE revoked_at IS NULL AND status IS NOT NULL`,
  )
  const by = new Map<string, { amount: number; boxes: number }>()
  for (const r of rows) {
    for (const [cur, v] of Object.entries(pendingAmountOf(r.status))) {
      const k = `${r.tenant_id}:${cur}`
      const e = by.get(k) ?? { amount: 0, boxes: 0 }
      e.amount += v
      e.boxes += v > 0 ? 1 : 0
      by.set(k, e)
    }
  }
  for (const [k, e] of by) {
    const [tenantId, currency] = k.split(':') as [string, string]
    await q.query(
      `INSERT INTO exposure_samples (tenant_id, at, currency, amount, boxes) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT DO NOTHING`,
      [tenantId, now, currency, e.amount, e.boxes],
    )
  }
  return by.size
}

export interface ExposurePoint {
  at: Date
  currency: string
  amount: number
}

/** Exposure samples of the tenant since `since`, oldest first. */
export async function exposureHistory(q: Queryable, tenantId: string, since: Date): Promise<ExposurePoint[]> {
  const { rows } = await q.query<{ at: Date; currency: string; amount: bigint }>(
    `SELECT at, currency, amount FROM exposure_samples WHERE tenant_id = $1 AND at >= $2 ORDER BY at LIMIT 5000`,
    [tenantId, since],
  )
  return rows.map((r) => ({ at: new Date(r.at), currency: r.currency, amount: num(r.amount) }))
}

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
