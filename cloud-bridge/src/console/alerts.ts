/**
 * The conditions an operator must act on, computed by the bridge from its tables so a site without Prometheus
 * still sees them in the console. The same conditions ship as Prometheus rules (cloud-bridge/alerts/), over
 * the gauges of `/metrics`; keep the two in step.
 */
import { formatMoney } from '@opg/protocol'
import type { Queryable } from '../api/ports.js'
import { type BoxRow, storageAlertKinds } from './box-queries.js'

export interface AlertOptions {
  /** A box unseen this long while it holds payments is an alert (default 6 h). */
  silentBoxMs: number
  /** SMS failures newer than this are listed (default 24 h). */
  smsWindowMs: number
}

export const DEFAULT_ALERT_OPTIONS: AlertOptions = { silentBoxMs: 6 * 3_600_000, smsWindowMs: 24 * 3_600_000 }

export interface ConsoleAlert {
  kind:
    | 'box_silent_with_payments'
    | 'box_storage'
    | 'exposure_over_limit'
    | 'sms_failed'
    | 'double_spend'
    | string
  severity: 'critical' | 'warning'
  message: string
  since: Date | null
}

const hours = (ms: number) => `${Math.floor(ms / 3_600_000)} h ${Math.floor((ms % 3_600_000) / 60_000)} min`

/** The active alerts of a tenant, most severe first. `fleet` is the tenant's boxes (`boxes` in box-queries.ts). */
export async function activeAlerts(
  q: Queryable,
  tenantId: string,
  fleet: BoxRow[],
  exposureNow: Record<string, number>,
  now: Date,
  o: AlertOptions = DEFAULT_ALERT_OPTIONS,
): Promise<ConsoleAlert[]> {
  const out: ConsoleAlert[] = []
  for (const b of fleet) {
    if (b.revoked || b.online || b.pendingCount === 0 || !b.lastSeenAt) continue
    const unseen = now.getTime() - b.lastSeenAt.getTime()
    if (unseen < o.silentBoxMs) continue
    const value = Object.entries(b.pendingAmount).map(([cur, v]) => formatMoney(v, cur))
    out.push({
      kind: 'box_silent_with_payments',
      severity: 'warning',
      message: `box ${b.label || b.id} (${b.merchantName}) unseen for ${hours(unseen)} holding ${b.pendingCount} payment(s)${value.length ? `, ${value.join(' + ')}` : ''}`,
      since: b.lastSeenAt,
    })
  }

  for (const b of fleet) {
    if (b.revoked || !b.storage) continue
    const kinds = storageAlertKinds(b.storage)
    if (kinds.length === 0) continue
    const st = b.storage
    const parts = [
      ...(st.lostRecords > 0 ? [`${st.lostRecords} confirmed record(s) lost`] : []),
      ...(st.quarantined > 0 ? [`${st.quarantined} damaged journal region(s) quarantined`] : []),
      ...(st.stateRebuilt ? ['state file rebuilt'] : []),
      ...(st.powerFailAt !== null
        ? [`power failed${st.powerFlushFailed ? ' and the flush did not complete' : ''}; refusing payments`]
        : []),
      ...(st.freeLow ? ['free space low'] : []),
    ]
    out.push({
      kind: 'box_storage',
      // Free space alone is a warning; damage, lost records and a power failure need someone now.
      severity: kinds.every((k) => k === 'free_low') ? 'warning' : 'critical',
      message: `box ${b.label || b.id} (${b.merchantName}) storage: ${parts.join(', ')}`,
      since: st.powerFailAt !== null ? new Date(st.powerFailAt) : b.lastSeenAt,
    })
  }

  const t = await q.query<{ currency: string; exposure_limit: bigint | null }>(
    'SELECT currency, exposure_limit FROM tenants WHERE id = $1',
    [tenantId],
  )
  const tenant = t.rows[0]
  if (tenant?.exposure_limit != null) {
    const limit = Number(tenant.exposure_limit)
    const current = exposureNow[tenant.currency] ?? 0
    if (current > limit) {
      out.push({
        kind: 'exposure_over_limit',
        severity: 'critical',
        message: `unsynced exposure ${formatMoney(current, tenant.currency)} is above the limit of ${formatMoney(limit, tenant.currency)}`,
        since: null,
      })
    }
  }

  const sms = await q.query<{ n: bigint; first: Date | null }>(
    `SELECT count(*) AS n, min(created_at) AS first FROM sms_outbox
      WHERE tenant_id = $1 AND status = 'failed' AND created_at >= $2`,
    [tenantId, new Date(now.getTime() - o.smsWindowMs)],
  )
  const failed = Number(sms.rows[0]?.n ?? 0)
  if (failed > 0) {
    out.push({
      kind: 'sms_failed',
      severity: 'warning',
      message: `${failed} SMS could not be delivered`,
      since: sms.rows[0]?.first ? new Date(sms.rows[0].first) : null,
    })
  }

  const open = await q.query<{ kind: string; n: bigint; first: Date }>(
    `SELECT kind, count(*) AS n, min(created_at) AS first FROM operator_alerts
      WHERE tenant_id = $1 AND acknowledged_at IS NULL GROUP BY kind ORDER BY kind`,
    [tenantId],
  )
  for (const r of open.rows) {
    const doubleSpend = r.kind === 'double_spend' || r.kind.includes('double')
    out.push({
      kind: doubleSpend ? 'double_spend' : r.kind,
      severity: doubleSpend ? 'critical' : 'warning',
      message: `${Number(r.n)} open alert(s): ${r.kind.replaceAll('_', ' ')}`,
      since: new Date(r.first),
    })
  }
  const rank = (a: ConsoleAlert) => (a.severity === 'critical' ? 0 : 1)
  return out.sort((a, b) => rank(a) - rank(b))
}
