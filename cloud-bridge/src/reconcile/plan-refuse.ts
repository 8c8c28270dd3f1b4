/**
 * Refusing a validly signed token, and paying the merchants who hold receipts for refused tokens. Pure, like
 * planner.ts. The rule (README "Reconciliation"): no valid signed token is thrown away. A token that cannot be
 * honoured — a second token of the wallet at a tx id or counter already used, a forked hash chain, a counter
 * outside the purse's range, spending beyond the purse — is kept in refused_tokens with its reason and the token
 * it conflicts with, the wallet is frozen, the operator alerted. A merchant whose box delivered such a token holds
 * a receipt for it, so it is owed: at purse release it is paid from the escrow that is left before anything goes
 * back to the payer, then from the wallet's balance, and what neither covers is an `unfunded` loss the operator
 * sees. Tokens a box delivered are paid in the order the bridge received them.
 */
import { acct } from './plan-helpers.js'
import type {
  ArrivalOutcome,
  PaymentRecord,
  ProofKind,
  PurseRecord,
  RefusalCode,
  RefusedRecord,
  Side,
  Step,
  TokenFacts,
  WalletRecord,
} from './types.js'

export interface Refusal {
  kind: ProofKind
  code: RefusalCode
  /** The honoured token it conflicts with, if known. */
  honoured: PaymentRecord | null
  /** False only when another wallet owns the tx id: the wallet of this token did nothing provably wrong. */
  freeze: boolean
  /** Also keep a `double_spend` row in offline_payments (its tx id is free), so its status reads by tx id. */
  paymentRow: boolean
}

/** The refused_tokens row of a validly signed token. */
export function refusedRecord(t: TokenFacts, side: Side, r: Refusal, now: number): RefusedRecord {
  return {
    tenantId: t.tenantId,
    tokenId: t.tokenHash,
    txId: t.txId,
    walletId: t.walletId,
    merchantId: t.merchantId,
    deviceId: t.deviceId,
    purseId: t.purseId,
    counter: t.counter,
    amount: t.amount,
    currency: t.currency,
    reason: r.code,
    source: side === 'merchant' ? 'box' : 'wallet_log',
    receivedFrom: side === 'merchant' ? t.deviceId : t.walletId,
    valid: true,
    proofOf: r.honoured?.txId ?? null,
    proofOfTokenId: r.honoured?.tokenHash ?? null,
    token: t.token,
    receivedAt: now,
    // Only a box's delivery shows a merchant took the payment and handed out a receipt.
    settleState: side === 'merchant' ? 'pending' : 'awaiting_box',
  }
}

/** Plan the refusal of `t` (already verified) and return its outcome. */
export function planRefusal(
  t: TokenFacts,
  side: Side,
  r: Refusal,
  ctx: {
    now: number
    wallet: WalletRecord
    purse: PurseRecord
    record: PaymentRecord
    available: Record<string, number>
    steps: Step[]
  },
): ArrivalOutcome {
  const { now, wallet, purse, steps } = ctx
  if (r.paymentRow) {
    ctx.record.state = 'double_spend'
    ctx.record.fundedFrom = 'none'
    steps.push({ type: 'insert_payment', payment: ctx.record })
  }
  const refused = refusedRecord(t, side, r, now)
  steps.push({ type: 'refuse_token', refused })
  steps.push({
    type: 'record_proof',
    tenantId: t.tenantId,
    walletId: t.walletId,
    kind: r.kind,
    honouredTxId: r.honoured?.txId ?? null,
    honouredToken: r.honoured?.token ?? null,
    refusedTxId: t.txId,
    refusedToken: t.token,
    refusedTokenId: t.tokenHash,
    at: now,
  })
  if (r.freeze && wallet.frozenAt === null) {
    wallet.frozenAt = now
    steps.push({
      type: 'freeze_wallet',
      tenantId: t.tenantId,
      walletId: t.walletId,
      reason: 'double_spend',
      at: now,
    })
  }
  steps.push({
    type: 'alert',
    kind: r.freeze ? 'double_spend' : 'tx_id_taken',
    tenantId: t.tenantId,
    walletId: t.walletId,
    deviceId: t.deviceId,
    txId: t.txId,
    detail: {
      kind: r.kind,
      code: r.code,
      tokenId: t.tokenHash,
      honouredTxId: r.honoured?.txId ?? null,
      honouredTokenId: r.honoured?.tokenHash ?? null,
      counter: t.counter,
      amount: t.amount,
      purseAmount: purse.purseAmount,
      purseSpent: purse.spent,
      side,
    },
    at: now,
  })
  // The purse's leftover already went back to the wallet: what is owed comes from the wallet's balance now.
  if (refused.settleState === 'pending' && purse.releasedAt !== null) {
    steps.push(...planRefusedPayouts([refused], 0, ctx.available, now).steps)
  }
  return { txId: t.txId, status: 'refused', code: r.code, proofOf: r.honoured?.txId ?? null }
}

/**
 * Pay what is owed for refused tokens (oldest first): from the purse's remaining escrow, then the wallet's
 * available balance (`available` is updated), then the rest is unfunded (operator alert). Returns the steps and
 * the escrow used.
 */
export function planRefusedPayouts(
  owed: RefusedRecord[],
  escrowLeft: number,
  available: Record<string, number>,
  now: number,
): { steps: Step[]; escrowUsed: number } {
  const steps: Step[] = []
  let escrow = escrowLeft
  const ordered = [...owed].sort((a, b) => a.receivedAt - b.receivedAt || a.tokenId.localeCompare(b.tokenId))
  for (const r of ordered) {
    if (r.settleState !== 'pending' || r.amount === null || r.walletId === null) continue
    if (r.merchantId === null || r.currency === null) continue
    const fromEscrow = Math.min(r.amount, Math.max(0, escrow))
    escrow -= fromEscrow
    const wallet = available[r.walletId] ?? 0
    const fromWallet = Math.min(r.amount - fromEscrow, Math.max(0, wallet))
    available[r.walletId] = wallet - fromWallet
    const unfunded = r.amount - fromEscrow - fromWallet
    const pay = (kind: 'purse_escrow' | 'wallet_available', amount: number, stage: string): void => {
      if (amount <= 0) return
      steps.push({
        type: 'transfer',
        tenantId: r.tenantId,
        from: acct(kind, r.walletId!),
        to: acct('merchant_wallet', r.merchantId!),
        amount,
        currency: r.currency!,
        ref: `refused:${r.tokenId}:${stage}`,
        memo: `receipt for a refused token (${r.reason}) paid from ${kind}`,
      })
    }
    pay('purse_escrow', fromEscrow, 'escrow')
    pay('wallet_available', fromWallet, 'wallet')
    steps.push({
      type: 'settle_refused',
      tenantId: r.tenantId,
      tokenId: r.tokenId,
      paidEscrow: fromEscrow,
      paidWallet: fromWallet,
      unfunded,
      at: now,
    })
    if (unfunded > 0) {
      steps.push({
        type: 'alert',
        kind: 'unfunded',
        tenantId: r.tenantId,
        walletId: r.walletId,
        ...(r.deviceId !== null ? { deviceId: r.deviceId } : {}),
        ...(r.txId !== null ? { txId: r.txId } : {}),
        detail: {
          tokenId: r.tokenId,
          merchantId: r.merchantId,
          amount: r.amount,
          paidEscrow: fromEscrow,
          paidWallet: fromWallet,
          unfunded,
          reason: r.reason,
        },
        at: now,
      })
    }
  }
  return { steps, escrowUsed: escrowLeft - Math.max(0, escrow) }
}
