/**
 * Fleet figures of a tenant from what ingest records: how many boxes report, how much they still hold, and
 * what their batches brought in over a period. Works across replicas (it reads the tables, not one
 * replica's counters).
 */
import type { Queryable } from '../reconcile/ports.js'

export interface FleetFigures {
  devices: number
  online: number
  /** Payments the boxes say they still hold (last status of each). */
  pendingPayments: number
  /** Over the period: batches received (re-deliveries not counted again), tokens in them, accepted, rejected. */
  batches: number
  tokens: number
  accepted: number
  rejected: number
  /** Extra deliveries of batches already received: a measure of link quality. */
  redeliveries: number
  lastBatchAt: Date | null
}

/** Figures of one tenant's boxes; batch counts since `since`. */
export async function fleetFigures(q: Queryable, tenantId: string, since: Date): Promise<FleetFigures> {
  const d = await q.query<{ devices: bigint; online: bigint; pending: bigint | null }>(
    `SELECT count(*) AS devices, count(*) FILTER (WHERE online) AS online, sum(pending_count) AS pending
       FROM devices WHERE tenant_id = $1 AND revoked_at IS NULL`,
    [tenantId],
  )
  const b = await q.query<{
    batches: bigint
    tokens: bigint | null
    accepted: bigint | null
    rejected: bigint | null
    redeliveries: bigint | null
    last: Date | null
  }>(
    `SELECT count(*) AS batches, sum(items) AS tokens, sum(accepted) AS accepted, sum(rejected) AS rejected,
            sum(deliveries - 1) AS redeliveries, max(received_at) AS last
       FROM device_batches WHERE tenant_id = $1 AND received_at >= $2`,
    [tenantId, since],
  )
  const n = (v: unknown) => Number(v ?? 0)
  const dr = d.rows[0]
  const br = b.rows[0]
  return {
    devices: n(dr?.devices),
    online: n(dr?.online),
    pendingPayments: n(dr?.pending),
    batches: n(br?.batches),
    tokens: n(br?.tokens),
    accepted: n(br?.accepted),
    rejected: n(br?.rejected),
    redeliveries: n(br?.redeliveries),
    lastBatchAt: br?.last ? new Date(br.last) : null,
  }
}
