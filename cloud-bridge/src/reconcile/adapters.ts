/**
 * Adapters from reconciliation's ports to the bridge's real modules: the double-entry ledger (src/ledger, batched postings),
 * the SMS outbox (sms_outbox, sent after commit by the outbox worker) and the wallets table (freeze).
 */
import { formatMoney } from '@opg/protocol'
import { postMovements } from '../ledger/movements.js'
import { enqueueSms, isSmsError } from '../sms/index.js'
import { formatPayerTime, payerTimeZone } from '../sms/payer-time.js'
import type { ApprovalNotice, LedgerPort, PayerNotifier, Queryable, WalletFreezer } from './ports.js'
import type { AccountRef } from './types.js'

const account = (tenantId: string, a: AccountRef, currency: string) => ({
  tenantId,
  kind: a.kind,
  ownerId: a.owner,
  currency,
})

/**
 * The ledger port on src/ledger: every call is one batch of movements (postMovements), posted as one entry per
 * tenant with netted postings, each movement recorded once under its own ref.
 */
export function ledgerPort(): LedgerPort {
  return {
    async transferMany(tx, moves) {
      await postMovements(
        tx,
        moves.map((m) => ({
          ref: m.ref,
          tenantId: m.tenantId,
          memo: m.memo,
          from: account(m.tenantId, m.from, m.currency),
          to: account(m.tenantId, m.to, m.currency),
          amount: BigInt(m.amount),
        })),
      )
    },
  }
}

/**
 * The text the payer receives when a held payment is auto-approved: what was paid (through the money module:
 * 500 JPY reads "500 JPY"), to whom, and until when it can be claimed — a date and time in the payer's time
 * zone with the zone named (see sms/payer-time.ts). Kept near one SMS segment; the ref is the payment's tx id
 * tail as the wallet app shows it.
 */
export function approvalSmsText(n: ApprovalNotice, merchantName: string | null, timeZone = 'UTC'): string {
  const to = merchantName ?? `merchant ${n.merchantId}`
  return (
    `opg: ${formatMoney(n.amount, n.currency)} paid offline to ${to} is approved. ` +
    `Not you? Claim by ${formatPayerTime(n.claimUntil, timeZone)} in your wallet app: ` +
    `Payments > ref ${n.txId.slice(-12)}.`
  )
}

/**
 * Payer SMS through the SMS outbox (src/sms): queued in the caller's transaction with an idempotency key per
 * payment, so a rerun transaction or a second sweep never queues it twice; the outbox worker sends it after
 * commit. A wallet with no usable phone number gets an operator alert instead (never a failed sweep).
 * The argument is unused (kept for callers that pass an id generator; the outbox makes its own ids).
 */
export function smsOutboxNotifier(): PayerNotifier {
  return {
    async approved(tx: Queryable, n: ApprovalNotice) {
      const w = await tx.query<{ phone: string | null; time_zone: string | null }>(
        `SELECT w.phone, t.time_zone FROM wallets w JOIN tenants t ON t.id = w.tenant_id
          WHERE w.tenant_id = $1 AND w.id = $2`,
        [n.tenantId, n.walletId],
      )
      const phone = w.rows[0]?.phone ?? null
      const zone = payerTimeZone(w.rows[0]?.time_zone, phone, n.claimUntil)
      const m = await tx.query<{ name: string }>(
        'SELECT name FROM merchants WHERE tenant_id = $1 AND id = $2',
        [n.tenantId, n.merchantId],
      )
      const msg = {
        tenantId: n.tenantId,
        to: phone ?? '',
        text: approvalSmsText(n, m.rows[0]?.name ?? null, zone),
        idempotencyKey: `offline-approved:${n.txId}`,
      }
      try {
        await enqueueSms(tx, msg)
      } catch (err) {
        if (!isSmsError(err, 'bad_message')) throw err
        await tx.query(
          `INSERT INTO operator_alerts (kind, tenant_id, wallet_id, tx_id, detail, created_at)
           VALUES ('sms_undeliverable', $1, $2, $3, $4, now())`,
          [n.tenantId, n.walletId, n.txId, JSON.stringify({ reason: err.message })],
        )
      }
    },
  }
}

/** Freezes the wallet in the wallets table, so it can neither load purses nor pay online. */
export function walletsTableFreezer(): WalletFreezer {
  return {
    async freeze(tx, tenantId, walletId, reason) {
      await tx.query(
        `UPDATE wallets SET frozen = true, frozen_reason = coalesce(frozen_reason, $3)
         WHERE tenant_id = $1 AND id = $2`,
        [tenantId, walletId, reason],
      )
    },
  }
}
