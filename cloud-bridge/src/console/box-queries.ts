/**
 * The boxes as the console shows them, read straight from the tables every replica shares: presence, the
 * payments each box holds unsynced and their value, storage health and revocation-list state, and the fleet's
 * unsynced exposure with its sampled history. Reads are scoped like the API (by tenant and, for a merchant
 * session, by merchant); the exposure sampler records every tenant.
 */
import type { Queryable } from '../api/ports.js'
import { num, type Scope } from './scope.js'

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
