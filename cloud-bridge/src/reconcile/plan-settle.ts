/**
 * Reconciliation rules after arrival, as pure functions: the payer's fraud claim, the operator's decision, and
 * the return of a purse's leftover. Same contract as planner.ts: records + clock in, typed steps out.
 */
import { acct, move, seconds } from './plan-helpers.js'
import type { PaymentRecord, PurseRecord, ReconcileConfig, Step } from './types.js'
import { ReconcileError } from './types.js'

/**
 * The payer claims a payment was fraud. A held payment is stopped where it is (merchant_held); a settled one
 * (confirmed or approved, within the claim window after settlement) is pulled back from the merchant wallet
 * into merchant_held. Either way it waits for an operator decision.
 */
export function planClaim(p: PaymentRecord, walletId: string, reason: string, now: number): Step[] {
  if (p.walletId !== walletId) throw new ReconcileError('wrong_wallet', 'payment belongs to another wallet')
  if (p.state === 'disputed') throw new ReconcileError('already_disputed', 'payment is already disputed')
  if (p.state !== 'held' && p.state !== 'approved' && p.state !== 'confirmed') {
    throw new ReconcileError('not_claimable', `a ${p.state} payment cannot be claimed`)
  }
  if (p.state !== 'held' && p.claimUntil !== null && now > p.claimUntil) {
    throw new ReconcileError('claim_window_closed', 'claim window has closed')
  }
  const steps: Step[] = [
    {
      type: 'transition',
      tenantId: p.tenantId,
      txId: p.txId,
      from: p.state,
      to: 'disputed',
      at: now,
      holdUntil: null,
      claimReason: reason,
    },
  ]
  if (p.state !== 'held') {
    steps.push(
      move(
        p,
        acct('merchant_wallet', p.merchantId),
        acct('merchant_held', p.merchantId),
        'dispute',
        'offline payment disputed',
      ),
    )
  }
  steps.push({
    type: 'alert',
    kind: 'claim',
    tenantId: p.tenantId,
    walletId: p.walletId,
    deviceId: p.deviceId,
    txId: p.txId,
    detail: { reason, amount: p.amount, merchantId: p.merchantId },
    at: now,
  })
  return steps
}

/** The operator's decision on a disputed payment. */
export type Resolution = 'reverse' | 'uphold'

/** Apply an operator decision: reverse → money back to the wallet; uphold → the merchant keeps it. */
export function planResolve(p: PaymentRecord, decision: Resolution, operator: string, now: number): Step[] {
  if (p.state !== 'disputed') throw new ReconcileError('not_disputed', `a ${p.state} payment is not disputed`)
  const reverse = decision === 'reverse'
  return [
    {
      type: 'transition',
      tenantId: p.tenantId,
      txId: p.txId,
      from: 'disputed',
      to: reverse ? 'reversed' : 'upheld',
      at: now,
      settledAt: now,
      resolvedBy: operator,
    },
    move(
      p,
      acct('merchant_held', p.merchantId),
      reverse ? acct('wallet_available', p.walletId) : acct('merchant_wallet', p.merchantId),
      reverse ? 'reverse' : 'uphold',
      reverse ? 'offline payment reversed' : 'offline payment upheld',
    ),
  ]
}

/**
 * Return a purse's leftover to wallet_available once the purse has expired, the grace for late tokens has
 * passed, and none of its payments is still held. A disputed payment does not hold the purse back: its money
 * left escrow when it was received (escrow → merchant_held or merchant_wallet), and its reversal pays the
 * wallet from merchant_held, never from escrow — so an open dispute, which has no time limit, cannot keep a
 * leftover from its owner.
 */
export function planPurseRelease(
  purse: PurseRecord,
  payments: PaymentRecord[],
  now: number,
  config: ReconcileConfig,
): Step[] {
  if (purse.releasedAt !== null) return []
  if (now < purse.expiresAt + seconds(config.purseGraceSeconds)) return []
  const open = payments.some((p) => p.purseId === purse.purseId && p.state === 'held')
  if (open) return []
  const leftover = purse.purseAmount - purse.spent
  const steps: Step[] = [
    {
      type: 'release_purse',
      tenantId: purse.tenantId,
      purseId: purse.purseId,
      walletId: purse.walletId,
      amount: Math.max(0, leftover),
      currency: purse.currency,
      at: now,
    },
  ]
  if (leftover > 0) {
    steps.push({
      type: 'transfer',
      tenantId: purse.tenantId,
      from: acct('purse_escrow', purse.walletId),
      to: acct('wallet_available', purse.walletId),
      amount: leftover,
      currency: purse.currency,
      ref: `purse:${purse.purseId}:release`,
      memo: 'purse leftover returned',
    })
  }
  return steps
}
