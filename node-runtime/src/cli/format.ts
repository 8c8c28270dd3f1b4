/**
 * Human output of the opg-node command: outcomes, status and progress lines. Every amount goes through the
 * protocol's `formatMoney`; the words for payments match the bridge's: a payment on this box is "pending" until
 * the bridge acknowledges it (then the bridge calls it held, confirmed, …).
 */
import { formatMoney } from '@opg/protocol'
import type { AcceptOutcome } from '../accept/acceptor.js'
import type { NodeReport } from '../node/opg-node.js'
import type { SyncProgress } from '../sync/sync-engine.js'

/** Amounts by currency as money: "12.50 EUR, 500 JPY", or "nothing" when there are none. */
export function amounts(byCurrency: Record<string, number>): string {
  const parts = Object.entries(byCurrency)
    .filter(([, v]) => v !== 0)
    .map(([cur, v]) => formatMoney(v, cur))
  return parts.length > 0 ? parts.join(', ') : 'nothing'
}

/** One line per acceptance outcome, as the merchant would read it. Receipt bytes are JSON hex over the socket. */
export function formatOutcome(out: AcceptOutcome | { ok: true; receipt: Record<string, unknown> }): string {
  if (out.ok) {
    const r = out.receipt as { txId: string; amount: number; currency: string; bytes: Uint8Array | string }
    const hex = typeof r.bytes === 'string' ? r.bytes : Buffer.from(r.bytes).toString('hex')
    return `ACCEPTED ${formatMoney(r.amount, r.currency)}  tx ${r.txId}\nreceipt ${hex}`
  }
  return `REJECTED ${out.code}: ${out.reason}`
}

const CLOCK: Record<string, string> = {
  trusted: 'set by the bridge',
  carried: 'carried over a restart, not yet confirmed by the bridge',
  unsynced: 'not yet set by the bridge',
}

export function formatReport(r: NodeReport): string {
  const last = r.lastSyncAt !== undefined ? new Date(r.lastSyncAt).toISOString() : 'never'
  const acked = r.payments - r.pendingCount
  const clock = CLOCK[r.clock.source] ?? r.clock.source
  return [
    `device      ${r.deviceId}${r.running ? '' : '  (node not running: read from the vault)'}`,
    `online      ${r.running ? (r.online ? 'yes (connected to the broker)' : 'no') : 'unknown'}`,
    `pending     ${r.pendingCount} payment(s) not yet at the bridge: ${amounts(r.pendingAmount)}`,
    `stored      ${r.payments} payment(s) in this box's vault, ${acked} acknowledged by the bridge`,
    `last sync   ${last}`,
    `clock       ${new Date(r.clock.ms).toISOString()} (${r.online && r.clock.source === 'unsynced' ? 'online; waiting for the bridge to send the time' : clock})`,
    `revocations version ${r.revocationVersion < 0 ? 'none' : r.revocationVersion}`,
    `paid online ${r.confirmations.recent.length} recent, ${r.confirmations.refused} refused`,
    `refused     ${r.refused.count} payment(s) refused by the bridge (kept, disputed)`,
    ...r.refused.recent.map(
      (p) =>
        `  REFUSED ${p.code}  ${formatMoney(p.amount, p.currency)}  tx ${p.txId}  ${new Date(p.acceptedAt).toISOString()}`,
    ),
    ...(r.damagedPayments > 0
      ? [`damaged     ${r.damagedPayments} payment(s) damaged on flash (kept to refuse replays)`]
      : []),
    `storage     ${r.storage.alerts.length === 0 ? 'ok' : `${r.storage.alerts.length} ALERT(S) — run opg-node check`}`,
    ...r.storage.alerts.map((a) => `  ALERT ${a}`),
    `version     ${r.version}`,
  ].join('\n')
}

export function formatProgress(p: Partial<SyncProgress> & { published?: number }): string {
  if (p.published !== undefined) return `published batch of ${p.published}`
  return `acked ${p.acked ?? 0} (total ${p.ackedTotal ?? 0}), pending ${p.pendingCount ?? 0}${p.pendingAmount ? ` (${amounts(p.pendingAmount)})` : ''}`
}
