/**
 * The reconciliation rules as pure functions: records + clock → typed steps. No I/O, no clock of its own, so
 * every rule is tested as a table without a database. The executor (executor.ts) applies the steps.
 *
 * Money flow of an offline payment (purse loading already moved the purse from wallet_available to purse_escrow):
 * - merchant side first → held:   purse_escrow → merchant_held; later payer sync or hold end: merchant_held →
 *   merchant_wallet.
 * - payer side first → confirmed: purse_escrow → merchant_wallet at once (the payer's own log vouches for it).
 * - claim: held stays in merchant_held; confirmed/approved move merchant_wallet → merchant_held. Operator: reverse →
 *   merchant_held → wallet_available; uphold → merchant_held → merchant_wallet.
 * - a token that cannot be honoured (its tx id or counter taken by another token of the wallet, a forked hash
 *   chain, a counter outside the purse's range, beyond the purse): the token arriving later at the bridge is
 *   refused and kept as proof (plan-refuse.ts); what the bridge received first was honoured and stays so. A
 *   merchant whose box delivered the refused token is paid at purse release: escrow first, then the wallet's
 *   balance, the rest `unfunded`.
 * - purse expired + grace, no payment held (disputes do not block): purse_escrow leftover → wallet_available.
 */

import { acct, move, seconds } from './plan-helpers.js'
import { planRefusal, planRefusedPayouts, type Refusal, refusedRecord } from './plan-refuse.js'
import type {
  ArrivalOutcome,
  PaymentRecord,
  PurseRecord,
  ReconcileConfig,
  RefusalCode,
  RefusedRecord,
  Side,
  Step,
  TokenFacts,
  WalletRecord,
} from './types.js'

export { planClaim, planPurseRelease, planResolve, type Resolution } from './plan-settle.js'

/** Everything the planner may know when tokens arrive: the stored records that can matter to them. */
export interface ArrivalInput {
  now: number
  config: ReconcileConfig
  side: Side
  /** Verified tokens in arrival order (a box's batch order, or a wallet log's order). */
  tokens: TokenFacts[]
  /** Stored payments with one of the tokens' tx ids, or at one of their (wallet, counter) pairs. */
  payments: PaymentRecord[]
  purses: PurseRecord[]
  wallets: WalletRecord[]
  /**
   * wallet_available balance per wallet id, needed only when a token arrives after its purse was released
   * (then the payment is funded from there). Missing → treated as 0.
   */
  walletAvailable?: Record<string, number>
  /** Refused tokens already stored with one of the tokens' identities (token hashes). */
  refused?: RefusedRecord[]
}

export interface Plan {
  steps: Step[]
  outcomes: ArrivalOutcome[]
}

/** Plan the arrival of a batch of verified tokens from one side. */
export function planArrivals(input: ArrivalInput): Plan {
  const { now, config, side } = input
  const steps: Step[] = []
  const outcomes: ArrivalOutcome[] = []
  // Working copies, updated as each token is planned so later tokens of the batch see earlier ones.
  const byTx = new Map<string, PaymentRecord>()
  // The same records by (wallet, counter), in the order they became known, so finding the payment at a counter
  // is one map probe instead of a scan of the batch (a 500-token batch asks three times per token).
  const atCounter = new Map<string, PaymentRecord[]>()
  const counterKey = (walletId: string, counter: number) => `${walletId}\n${counter}`
  const know = (p: PaymentRecord) => {
    byTx.set(p.txId, p)
    const k = counterKey(p.walletId, p.counter)
    const list = atCounter.get(k)
    if (list) list.push(p)
    else atCounter.set(k, [p])
  }
  for (const p of input.payments) know({ ...p })
  const purses = new Map(input.purses.map((p) => [p.purseId, { ...p }]))
  const wallets = new Map(input.wallets.map((w) => [w.walletId, { ...w }]))
  const refused = new Map((input.refused ?? []).map((r) => [r.tokenId, { ...r }]))
  const available = { ...input.walletAvailable }
  // Honoured payments only: a refused token is never the reference for a counter or a chain link.
  const honouredAt = (walletId: string, counter: number, purseId?: string): PaymentRecord | undefined =>
    atCounter
      .get(counterKey(walletId, counter))
      ?.find((p) => p.state !== 'double_spend' && (purseId === undefined || p.purseId === purseId))

  for (const t of input.tokens) {
    // The same body refused before (a re-delivery, or the other side of it): refused again, nothing new.
    const known = refused.get(t.tokenHash)
    if (known) {
      if (side === 'merchant' && known.settleState === 'awaiting_box') {
        known.settleState = 'pending'
        steps.push({ type: 'refused_owed', tenantId: t.tenantId, tokenId: t.tokenHash })
        const purse = purses.get(t.purseId)
        if (purse?.releasedAt != null) steps.push(...planRefusedPayouts([known], 0, available, now).steps)
      }
      outcomes.push({
        txId: t.txId,
        status: 'refused',
        code: known.reason as RefusalCode,
        proofOf: known.proofOf,
      })
      continue
    }
    const existing = byTx.get(t.txId)
    if (existing && existing.tokenHash === t.tokenHash) {
      outcomes.push(planRepeat(existing, t, side, now, config, steps))
      continue
    }
    let wallet = wallets.get(t.walletId)
    if (!wallet) {
      wallet = { walletId: t.walletId, tenantId: t.tenantId, frozenAt: null }
      wallets.set(t.walletId, wallet)
      steps.push({ type: 'ensure_wallet', walletId: t.walletId, tenantId: t.tenantId })
    }
    let purse = purses.get(t.purseId)
    if (!purse) {
      purse = {
        purseId: t.purseId,
        walletId: t.walletId,
        tenantId: t.tenantId,
        currency: t.currency,
        purseAmount: t.purseAmount,
        spent: 0,
        expiresAt: t.purseExpiresAt,
        releasedAt: null,
      }
      purses.set(t.purseId, purse)
      steps.push({ type: 'ensure_purse', purse: { ...purse } })
    }
    const record: PaymentRecord = {
      txId: t.txId,
      tenantId: t.tenantId,
      walletId: t.walletId,
      merchantId: t.merchantId,
      deviceId: t.deviceId,
      purseId: t.purseId,
      amount: t.amount,
      currency: t.currency,
      counter: t.counter,
      token: t.token,
      tokenHash: t.tokenHash,
      state: 'held',
      fundedFrom: 'escrow',
      firstReceivedAt: now,
      merchantSeenAt: side === 'merchant' ? now : null,
      payerSeenAt: side === 'payer' ? now : null,
      holdUntil: null,
      settledAt: null,
      claimUntil: null,
      prevHash: t.prevHash,
      link: t.link,
    }
    const refusal = judge(t, existing, purse, honouredAt)
    if (refusal) {
      const outcome = planRefusal(t, side, refusal, { now, wallet, purse, record, available, steps })
      if (refusal.paymentRow) know(record)
      refused.set(t.tokenHash, refusedRecord(t, side, refusal, now))
      outcomes.push(outcome)
      continue
    }
    // After the leftover went back to the wallet, a late token is paid from there instead of escrow, if the
    // wallet still holds it; otherwise it is stored unpaid for the operator (the box still gets its ack).
    const late = purse.releasedAt !== null
    if (late && (available[t.walletId] ?? 0) < t.amount) {
      record.state = 'unfunded'
      record.fundedFrom = 'none'
      steps.push({ type: 'insert_payment', payment: record })
      steps.push({
        type: 'alert',
        kind: 'unfunded',
        tenantId: t.tenantId,
        walletId: t.walletId,
        deviceId: t.deviceId,
        txId: t.txId,
        detail: { amount: t.amount, available: available[t.walletId] ?? 0, purseId: t.purseId },
        at: now,
      })
      know(record)
      outcomes.push({ txId: t.txId, status: 'stored', state: 'unfunded' })
      continue
    }
    if (late) available[t.walletId] = (available[t.walletId] ?? 0) - t.amount
    const source = late ? acct('wallet_available', t.walletId) : acct('purse_escrow', t.walletId)
    record.fundedFrom = late ? 'wallet' : 'escrow'
    purse.spent += t.amount
    if (side === 'payer') {
      record.state = 'confirmed'
      record.settledAt = now
      record.claimUntil = now + seconds(config.claimWindowSeconds)
    } else {
      record.state = 'held'
      record.holdUntil = now + seconds(config.holdSeconds)
    }
    steps.push({ type: 'insert_payment', payment: record })
    steps.push({ type: 'purse_spent', tenantId: t.tenantId, purseId: t.purseId, delta: t.amount })
    steps.push(
      side === 'payer'
        ? move(
            t,
            source,
            acct('merchant_wallet', t.merchantId),
            'confirm',
            'offline payment confirmed by payer',
          )
        : move(t, source, acct('merchant_held', t.merchantId), 'hold', 'offline payment held'),
    )
    know(record)
    outcomes.push({ txId: t.txId, status: 'stored', state: record.state })
  }
  return { steps, outcomes }
}

/**
 * Why a new, validly signed token cannot be honoured, or null. Checked in this order: its tx id belongs to
 * another token; its counter lies outside its purse's range; another token holds its counter; it breaks the hash
 * chain with a stored neighbour under the same certificate; it spends beyond the purse.
 */
function judge(
  t: TokenFacts,
  existing: PaymentRecord | undefined,
  purse: PurseRecord,
  honouredAt: (walletId: string, counter: number, purseId?: string) => PaymentRecord | undefined,
): Refusal | null {
  if (existing) {
    const own = existing.walletId === t.walletId
    return {
      kind: own ? 'same_tx_id' : 'tx_id_taken',
      code: own ? 'double_spend' : 'replay',
      honoured: existing,
      freeze: own,
      paymentRow: false,
    }
  }
  const row = { freeze: true, paymentRow: true }
  if (t.counter > t.counterBase + t.purseAmount) {
    return { kind: 'counter_range', code: 'bad_counter', honoured: null, ...row }
  }
  const rival = honouredAt(t.walletId, t.counter)
  if (rival) return { kind: 'same_counter', code: 'double_spend', honoured: rival, ...row }
  if (t.counter === t.counterBase + 1 && t.prevHash !== t.chainStart) {
    return { kind: 'broken_chain', code: 'bad_chain', honoured: null, ...row }
  }
  const before = honouredAt(t.walletId, t.counter - 1, t.purseId)
  if (before?.link !== undefined && before.link !== t.prevHash) {
    return { kind: 'broken_chain', code: 'bad_chain', honoured: before, ...row }
  }
  const after = honouredAt(t.walletId, t.counter + 1, t.purseId)
  if (after?.prevHash !== undefined && after.prevHash !== t.link) {
    return { kind: 'broken_chain', code: 'bad_chain', honoured: after, ...row }
  }
  if (purse.spent + t.amount > purse.purseAmount) {
    return { kind: 'over_purse', code: 'over_purse', honoured: null, ...row }
  }
  return null
}

/** A token whose tx id is already stored: a re-delivery, or the other side of the same payment. */
function planRepeat(
  p: PaymentRecord,
  t: TokenFacts,
  side: Side,
  now: number,
  config: ReconcileConfig,
  steps: Step[],
): ArrivalOutcome {
  const seen = side === 'merchant' ? p.merchantSeenAt : p.payerSeenAt
  if (seen !== null) return { txId: t.txId, status: 'duplicate', state: p.state }
  steps.push({ type: 'mark_seen', tenantId: p.tenantId, txId: p.txId, side, at: now })
  if (side === 'merchant') p.merchantSeenAt = now
  else p.payerSeenAt = now
  if (side === 'payer' && p.state === 'held') {
    const claimUntil = now + seconds(config.claimWindowSeconds)
    steps.push({
      type: 'transition',
      tenantId: p.tenantId,
      txId: p.txId,
      from: 'held',
      to: 'confirmed',
      at: now,
      holdUntil: null,
      settledAt: now,
      claimUntil,
    })
    steps.push(
      move(
        p,
        acct('merchant_held', p.merchantId),
        acct('merchant_wallet', p.merchantId),
        'confirm',
        'offline payment confirmed by payer',
      ),
    )
    p.state = 'confirmed'
    p.holdUntil = null
    p.settledAt = now
    p.claimUntil = claimUntil
  }
  return { txId: t.txId, status: 'stored', state: p.state }
}

/** Auto-approve held payments whose hold has ended (hold_until ≤ now, to the millisecond). */
export function planApprovals(payments: PaymentRecord[], now: number, config: ReconcileConfig): Step[] {
  const steps: Step[] = []
  for (const p of payments) {
    if (p.state !== 'held' || p.holdUntil === null || p.holdUntil > now) continue
    const claimUntil = now + seconds(config.claimWindowSeconds)
    steps.push({
      type: 'transition',
      tenantId: p.tenantId,
      txId: p.txId,
      from: 'held',
      to: 'approved',
      at: now,
      settledAt: now,
      claimUntil,
    })
    steps.push(
      move(
        p,
        acct('merchant_held', p.merchantId),
        acct('merchant_wallet', p.merchantId),
        'approve',
        'offline payment auto-approved',
      ),
    )
    steps.push({
      type: 'notify_payer',
      kind: 'auto_approved',
      tenantId: p.tenantId,
      walletId: p.walletId,
      txId: p.txId,
      merchantId: p.merchantId,
      amount: p.amount,
      currency: p.currency,
      claimUntil,
    })
  }
  return steps
}
