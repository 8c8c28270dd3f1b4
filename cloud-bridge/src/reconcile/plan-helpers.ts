/** Small shared pieces of the reconciliation planners. */
import type { AccountRef, PaymentRecord, Step, TokenFacts } from './types.js'

/** An account of `kind` owned by a wallet or merchant id. */
export const acct = (kind: AccountRef['kind'], owner: string): AccountRef => ({ kind, owner })
/** Seconds → milliseconds. */
export const seconds = (s: number): number => s * 1000

/** A ledger movement of a payment's amount; `stage` makes the ledger ref unique per movement. */
export function move(
  p: PaymentRecord | TokenFacts,
  from: AccountRef,
  to: AccountRef,
  stage: string,
  memo: string,
): Step {
  return {
    type: 'transfer',
    tenantId: p.tenantId,
    from,
    to,
    amount: p.amount,
    currency: p.currency,
    ref: `offline:${p.txId}:${stage}`,
    memo,
  }
}
