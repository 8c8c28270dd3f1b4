/**
 * Adapters from reconciliation's ports to the bridge's real modules: the double-entry ledger (src/ledger),
 * the SMS outbox (sms_outbox, sent after commit by the outbox worker) and the wallets table (freeze).
 */
import { formatMoney } from '@opg/protocol'
import { transfer } from '../ledger/post.js'
import { postMany } from '../ledger/post-many.js'
import { enqueueSms, isSmsError } from '../sms/index.js'
import type { ApprovalNotice, LedgerPort, PayerNotifier, Queryable, WalletFreezer } from './ports.js'
import type { AccountRef } from './types.js'

const account = (tenantId: string, a: AccountRef, currency: string) => ({
  tenantId,
  kind: a.kind,
  ownerId: a.owner,
  currency,
})

/** The ledger port on src/ledger (transfer/postMany): balanced entries, idempotent by ref. */
export function ledgerPort(): LedgerPort {
  return {
    async transfer(tx, t) {
      await transfer(tx, {
        ref: t.ref,
        tenantId: t.tenantId,
        memo: t.memo,
        from: account(t.tenantId, t.from, t.currency),
        to: account(t.tenantId, t.to, t.currency),
        amount: BigInt(t.amount),
      })
    },
    async transferMany(tx, moves) {
      await postMany(
        tx,
        moves.map((m) => ({
          ref: m.ref,
          tenantId: m.tenantId,
          memo: m.memo,
          postings: [
            { account: account(m.tenantId, m.from, m.currency), amount: -BigInt(m.amount) },
            { account: account(m.tenantId, m.to, m.currency), amount: BigInt(m.amount) },
          ],
        })),
      )
    },
  }
}

/**
 * The text the payer receives when a held payment is auto-approved: what was paid, to whom, and how to claim.
 * Kept near one SMS segment; the ref is the payment's tx id tail as the wallet app shows it.
 */
export function approvalSmsText(n: ApprovalNotice, merchantName: string | null): string {
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10)
  const to = merchantName ?? `merchant ${n.merchantId}`
  return (
    `opg: ${formatMoney(n.amount, n.currency)} paid offline to ${to} is approved. ` +
    `Not you? Claim by ${day(n.claimUntil)} in your wallet app: Payments > ref ${n.txId.slice(-12)}.`
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
      const w = await tx.query<{ phone: string | null }>(
        'SELECT phone FROM wallets WHERE tenant_id = $1 AND id = $2',
        [n.tenantId, n.walletId],
      )
      const m = await tx.query<{ name: string }>(
        'SELECT name FROM merchants WHERE tenant_id = $1 AND id = $2',
        [n.tenantId, n.merchantId],
      )
      const msg = {
        tenantId: n.tenantId,
        to: w.rows[0]?.phone ?? '',
        text: approvalSmsText(n, m.rows[0]?.name ?? null),
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
