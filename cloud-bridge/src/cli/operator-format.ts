/**
 * How the operator commands show what the API returns: rows for tables (money through `formatMoney`) and the
 * fleet's risk order. Pure functions over the API's JSON, so they are tested on data without a bridge.
 */
import { formatMoney } from '@opg/protocol'
import type { Column } from '@opg/protocol/cli'

/** A box as `GET /v1/fleet` returns it. */
export interface FleetDevice {
  id: string
  merchantId: string
  label: string
  certified: boolean
  certExpiresAt: string | null
  lastSeenAt: string | null
  online: boolean
  modemNumber: string | null
  pendingCount: number
  revoked: boolean
}

/** A payment as `GET /v1/payments` returns it (amount in minor units). */
export interface ApiPayment {
  txId: string
  walletId: string
  merchantId: string
  deviceId: string
  amount: number
  currency: string
  counter: number
  status: string
  firstSeenAt: string
  holdUntil: string | null
}

/** A refused token as `GET /v1/refused-tokens` returns it. */
export interface RefusedToken {
  id: string
  txId: string | null
  walletId: string | null
  merchantId: string | null
  deviceId: string | null
  amountMinor: number | null
  currency: string | null
  reason: string
  source: string
  receivedAt: string
  tokenB64: string
}

/** How long ago, for a person: "3 min", "2 h", "5 d", or "never". */
export function ago(iso: string | null, nowMs: number): string {
  if (iso === null) return 'never'
  const s = Math.max(0, Math.round((nowMs - Date.parse(iso)) / 1000))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min`
  if (s < 86_400) return `${Math.floor(s / 3600)} h`
  return `${Math.floor(s / 86_400)} d`
}

/**
 * Riskiest first: a revoked box, then offline boxes holding payments (money the bridge has not seen), then
 * any offline box, then by pending count, and the longest silence first.
 */
export function byRisk(a: FleetDevice, b: FleetDevice): number {
  const rank = (d: FleetDevice) => (d.revoked ? 0 : !d.online && d.pendingCount > 0 ? 1 : !d.online ? 2 : 3)
  const seen = (d: FleetDevice) => (d.lastSeenAt === null ? 0 : Date.parse(d.lastSeenAt))
  return rank(a) - rank(b) || b.pendingCount - a.pendingCount || seen(a) - seen(b) || a.id.localeCompare(b.id)
}

export function fleetColumns(nowMs: number): Column<FleetDevice>[] {
  return [
    { head: 'box', cell: (d) => d.id },
    { head: 'label', cell: (d) => d.label },
    { head: 'merchant', cell: (d) => d.merchantId },
    { head: 'state', cell: (d) => (d.revoked ? 'REVOKED' : d.online ? 'online' : 'offline') },
    { head: 'last seen (sync lag)', cell: (d) => ago(d.lastSeenAt, nowMs) },
    { head: 'pending', cell: (d) => String(d.pendingCount), align: 'right' },
    { head: 'certificate until', cell: (d) => (d.certified ? (d.certExpiresAt ?? '') : 'none') },
  ]
}

export function paymentColumns(): Column<ApiPayment>[] {
  return [
    { head: 'tx', cell: (p) => p.txId },
    { head: 'amount', cell: (p) => formatMoney(p.amount, p.currency), align: 'right' },
    { head: 'status', cell: (p) => p.status },
    { head: 'merchant', cell: (p) => p.merchantId },
    { head: 'box', cell: (p) => p.deviceId },
    { head: 'wallet', cell: (p) => p.walletId },
    { head: 'first seen', cell: (p) => p.firstSeenAt },
  ]
}

export function holdColumns(nowMs: number): Column<ApiPayment>[] {
  return [
    { head: 'tx', cell: (p) => p.txId },
    { head: 'amount', cell: (p) => formatMoney(p.amount, p.currency), align: 'right' },
    { head: 'auto-approves at', cell: (p) => p.holdUntil ?? '' },
    { head: 'in', cell: (p) => (p.holdUntil ? until(p.holdUntil, nowMs) : '') },
    { head: 'merchant', cell: (p) => p.merchantId },
    { head: 'wallet', cell: (p) => p.walletId },
  ]
}

function until(iso: string, nowMs: number): string {
  const ms = Date.parse(iso) - nowMs
  return ms <= 0 ? 'due now' : ago(new Date(nowMs - ms).toISOString(), nowMs)
}

export function refusedColumns(): Column<RefusedToken>[] {
  return [
    { head: 'received', cell: (r) => r.receivedAt },
    { head: 'reason', cell: (r) => r.reason },
    { head: 'source', cell: (r) => r.source },
    {
      head: 'amount',
      cell: (r) => (r.amountMinor !== null && r.currency ? formatMoney(r.amountMinor, r.currency) : '?'),
      align: 'right',
    },
    { head: 'tx', cell: (r) => r.txId ?? '?' },
    { head: 'wallet', cell: (r) => r.walletId ?? '?' },
    { head: 'box', cell: (r) => r.deviceId ?? '?' },
  ]
}

/** The JSON form of payments: the same records, the amount named for its unit. */
export function paymentsJson(list: ApiPayment[]) {
  return list.map(({ amount, ...p }) => ({ ...p, amountMinor: amount }))
}
