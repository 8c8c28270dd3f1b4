/**
 * The thin executor: applies planned steps with SQL, the ledger and the SMS outbox inside the caller's
 * transaction. It decides nothing; the one check it makes (a transition must find the row in its `from` state)
 * guards against a planner fed stale records, and aborts the whole transaction.
 */
import { createHash } from 'node:crypto'
import type { LedgerPort, PayerNotifier, Queryable, WalletFreezer } from './ports.js'
import type { PaymentRecord, PurseRecord, Step } from './types.js'

/** Thrown when the database does not match what the plan assumed; the transaction rolls back. */
export class ExecutorError extends Error {
  override readonly name = 'ExecutorError'
  readonly code = 'stale_plan'
}

export interface ExecutorPorts {
  ledger: LedgerPort
  notifier: PayerNotifier
  /** Freezes the wallet for online use too (the wallets table); optional so the rules run without it. */
  wallets?: WalletFreezer
}

const ts = (v: number | null | undefined): Date | null => (v === null || v === undefined ? null : new Date(v))

const PAYMENT_COLUMNS = [
  'tx_id',
  'tenant_id',
  'wallet_id',
  'merchant_id',
  'device_id',
  'purse_id',
  'amount',
  'currency',
  'counter',
  'token',
  'token_hash',
  'state',
  'funded_from',
  'first_received_at',
  'merchant_seen_at',
  'payer_seen_at',
  'hold_until',
  'settled_at',
  'claim_until',
  'updated_at',
] as const

function paymentValues(p: PaymentRecord): unknown[] {
  return [
    p.txId,
    p.tenantId,
    p.walletId,
    p.merchantId,
    p.deviceId,
    p.purseId,
    p.amount,
    p.currency,
    p.counter,
    p.token,
    p.tokenHash,
    p.state,
    p.fundedFrom,
    ts(p.firstReceivedAt),
    ts(p.merchantSeenAt),
    ts(p.payerSeenAt),
    ts(p.holdUntil),
    ts(p.settledAt),
    ts(p.claimUntil),
    ts(p.firstReceivedAt),
  ]
}

/**
 * Insert payments in one multi-row statement; ON CONFLICT DO NOTHING makes a re-delivered batch harmless.
 * `table` exists for the benchmark's raw-insert baseline (a copy of offline_payments).
 */
export async function insertPayments(
  tx: Queryable,
  payments: PaymentRecord[],
  table = 'offline_payments',
): Promise<void> {
  if (payments.length === 0) return
  const n = PAYMENT_COLUMNS.length
  const params: unknown[] = []
  const tuples = payments.map((p, i) => {
    params.push(...paymentValues(p))
    return `(${PAYMENT_COLUMNS.map((_, j) => `$${i * n + j + 1}`).join(', ')})`
  })
  await tx.query(
    `INSERT INTO ${table} (${PAYMENT_COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}
     ON CONFLICT (tx_id) DO NOTHING`,
    params,
  )
}

async function ensurePurses(tx: Queryable, purses: PurseRecord[]): Promise<void> {
  for (const p of purses) {
    await tx.query(
      `INSERT INTO offline_purses (purse_id, wallet_id, tenant_id, currency, purse_amount, spent, expires_at)
       VALUES ($1, $2, $3, $4, $5, 0, $6) ON CONFLICT (tenant_id, purse_id) DO NOTHING`,
      [p.purseId, p.walletId, p.tenantId, p.currency, p.purseAmount, ts(p.expiresAt)],
    )
  }
}

/** Apply steps in order inside `tx`. Row inserts are grouped into one statement each, ahead of the rest. */
export async function applySteps(tx: Queryable, steps: Step[], ports: ExecutorPorts): Promise<void> {
  const wallets = steps.flatMap((s) => (s.type === 'ensure_wallet' ? [s] : []))
  for (const w of wallets) {
    await tx.query(
      'INSERT INTO offline_wallets (wallet_id, tenant_id) VALUES ($1, $2) ON CONFLICT (tenant_id, wallet_id) DO NOTHING',
      [w.walletId, w.tenantId],
    )
  }
  await ensurePurses(
    tx,
    steps.flatMap((s) => (s.type === 'ensure_purse' ? [s.purse] : [])),
  )
  await insertPayments(
    tx,
    steps.flatMap((s) => (s.type === 'insert_payment' ? [s.payment] : [])),
  )
  for (const s of steps) {
    switch (s.type) {
      case 'ensure_wallet':
      case 'ensure_purse':
      case 'insert_payment':
        break
      case 'mark_seen': {
        const col = s.side === 'merchant' ? 'merchant_seen_at' : 'payer_seen_at'
        await tx.query(
          `UPDATE offline_payments SET ${col} = coalesce(${col}, $2), updated_at = $2 WHERE tenant_id = $3 AND tx_id = $1`,
          [s.txId, ts(s.at), s.tenantId],
        )
        break
      }
      case 'transition': {
        const sets = ['state = $3', 'updated_at = $4']
        const params: unknown[] = [s.txId, s.from, s.to, ts(s.at), s.tenantId]
        const add = (col: string, v: unknown) => {
          params.push(v)
          sets.push(`${col} = $${params.length}`)
        }
        if (s.holdUntil !== undefined) add('hold_until', ts(s.holdUntil))
        if (s.settledAt !== undefined) add('settled_at', ts(s.settledAt))
        if (s.claimUntil !== undefined) add('claim_until', ts(s.claimUntil))
        if (s.claimReason !== undefined) {
          add('claim_reason', s.claimReason)
          add('claimed_at', ts(s.at))
        }
        if (s.resolvedBy !== undefined) {
          add('resolved_by', s.resolvedBy)
          add('resolved_at', ts(s.at))
        }
        const { rows } = await tx.query(
          `UPDATE offline_payments SET ${sets.join(', ')} WHERE tx_id = $1 AND state = $2 AND tenant_id = $5 RETURNING tx_id`,
          params,
        )
        if (rows.length !== 1) throw new ExecutorError(`payment ${s.txId} is no longer ${s.from}`)
        break
      }
      case 'purse_spent':
        break
      case 'release_purse': {
        const { rows } = await tx.query(
          `UPDATE offline_purses SET released_at = $2, released_amount = $3
           WHERE tenant_id = $4 AND purse_id = $1 AND released_at IS NULL RETURNING purse_id`,
          [s.purseId, ts(s.at), s.amount, s.tenantId],
        )
        if (rows.length !== 1) throw new ExecutorError(`purse ${s.purseId} was already released`)
        break
      }
      case 'transfer':
        break
      case 'record_proof':
        await tx.query(
          `INSERT INTO double_spend_proofs
             (tenant_id, wallet_id, kind, honoured_tx_id, refused_tx_id, honoured_token, refused_token, detected_at)
           VALUES ($8, $1, $2, $3, $4, $5, $6, $7) ON CONFLICT (refused_tx_id) DO NOTHING`,
          [
            s.walletId,
            s.kind,
            s.honouredTxId,
            s.refusedTxId,
            s.honouredToken,
            s.refusedToken,
            ts(s.at),
            s.tenantId,
          ],
        )
        break
      case 'freeze_wallet':
        await tx.query(
          `UPDATE offline_wallets SET frozen_at = coalesce(frozen_at, $2), frozen_reason = coalesce(frozen_reason, $3)
           WHERE tenant_id = $4 AND wallet_id = $1`,
          [s.walletId, ts(s.at), s.reason, s.tenantId],
        )
        await ports.wallets?.freeze(tx, s.tenantId, s.walletId, s.reason)
        break
      case 'alert':
        await tx.query(
          `INSERT INTO operator_alerts (kind, tenant_id, wallet_id, device_id, tx_id, detail, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [
            s.kind,
            s.tenantId,
            s.walletId ?? null,
            s.deviceId ?? null,
            s.txId ?? null,
            JSON.stringify(s.detail),
            ts(s.at),
          ],
        )
        break
      case 'notify_payer':
        await ports.notifier.approved(tx, s)
        break
      default: {
        const never: never = s
        throw new ExecutorError(`unknown step ${JSON.stringify(never)}`)
      }
    }
  }
  await applySpends(tx, steps)
  await applyTransfers(tx, steps, ports.ledger)
}

/** Purse spending, summed per purse: one UPDATE per purse however many payments a batch holds. */
async function applySpends(tx: Queryable, steps: Step[]): Promise<void> {
  const sums = new Map<string, { tenantId: string; purseId: string; delta: number }>()
  for (const s of steps) {
    if (s.type !== 'purse_spent') continue
    const k = `${s.tenantId}/${s.purseId}`
    const e = sums.get(k) ?? { tenantId: s.tenantId, purseId: s.purseId, delta: 0 }
    e.delta += s.delta
    sums.set(k, e)
  }
  for (const e of sums.values()) {
    await tx.query('UPDATE offline_purses SET spent = spent + $2 WHERE tenant_id = $3 AND purse_id = $1', [
      e.purseId,
      e.delta,
      e.tenantId,
    ])
  }
}

/**
 * Ledger movements of the plan. One movement keeps its own ref (`offline:{txId}:{stage}`); several become ONE
 * journal entry with a posting pair per movement, whose ref is a digest of the movements' refs — unique per
 * set, so a rerun is a no-op and no movement can be posted twice under two refs (the plan only contains
 * movements whose state change happens in this same transaction).
 */
async function applyTransfers(tx: Queryable, steps: Step[], ledger: LedgerPort): Promise<void> {
  const moves = steps.flatMap((s) => (s.type === 'transfer' ? [s] : []))
  const byTenant = new Map<string, typeof moves>()
  for (const m of moves) byTenant.set(m.tenantId, [...(byTenant.get(m.tenantId) ?? []), m])
  for (const [tenantId, list] of byTenant) {
    if (list.length === 1) {
      await ledger.transfer(tx, list[0]!)
      continue
    }
    const digest = createHash('sha256')
      .update(list.map((m) => m.ref).join('\n'))
      .digest('hex')
      .slice(0, 40)
    const memos = [...new Set(list.map((m) => m.memo))].join('; ')
    await ledger.transferAll(
      tx,
      tenantId,
      `offline:set:${digest}`,
      `${list.length} × ${memos}`.slice(0, 500),
      list,
    )
  }
}
