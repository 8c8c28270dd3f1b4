/** Human output of the opg-node command: amounts, outcomes, status and progress lines. */
import type { AcceptOutcome } from '../accept/acceptor.js'
import type { NodeReport } from '../node/opg-node.js'
import type { SyncProgress } from '../sync/sync-engine.js'

/** Minor units as a decimal amount (two decimals, the common case for ISO 4217). */
export function money(minor: number, currency: string): string {
  const sign = minor < 0 ? '-' : ''
  const abs = Math.abs(minor)
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')} ${currency}`
}

function amounts(byCurrency: Record<string, number>): string {
  const parts = Object.entries(byCurrency).map(([cur, v]) => money(v, cur))
  return parts.length > 0 ? parts.join(', ') : '0'
}

/** One line per acceptance outcome, as the merchant would read it. Receipt bytes are JSON hex over the socket. */
export function formatOutcome(out: AcceptOutcome | { ok: true; receipt: Record<string, unknown> }): string {
  if (out.ok) {
    const r = out.receipt as { txId: string; amount: number; currency: string; bytes: Uint8Array | string }
    const hex = typeof r.bytes === 'string' ? r.bytes : Buffer.from(r.bytes).toString('hex')
    return `ACCEPTED ${money(r.amount, r.currency)}  tx ${r.txId}\nreceipt ${hex}`
  }
  return `REJECTED ${out.code}: ${out.reason}`
}

export function formatReport(r: NodeReport): string {
  const last = r.lastSyncAt !== undefined ? new Date(r.lastSyncAt).toISOString() : 'never'
  return [
    `device      ${r.deviceId}${r.running ? '' : '  (node not running: read from the vault)'}`,
    `online      ${r.running ? (r.online ? 'yes' : 'no') : 'unknown'}`,
    `pending     ${r.pendingCount} payment(s), ${amounts(r.pendingAmount)}`,
    `payments    ${r.payments} held`,
    `last sync   ${last}`,
    `clock       ${new Date(r.clock.ms).toISOString()} (${r.clock.source})`,
    `revocations version ${r.revocationVersion < 0 ? 'none' : r.revocationVersion}`,
    `paid online ${r.confirmations.recent.length} recent, ${r.confirmations.refused} refused`,
    `refused     ${r.refused.count} payment(s) refused by the bridge (kept, disputed)`,
    ...r.refused.recent.map(
      (p) =>
        `  REFUSED ${p.code}  ${money(p.amount, p.currency)}  tx ${p.txId}  ${new Date(p.acceptedAt).toISOString()}`,
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
  return `acked ${p.acked ?? 0} (total ${p.ackedTotal ?? 0}), pending ${p.pendingCount ?? 0}`
}
