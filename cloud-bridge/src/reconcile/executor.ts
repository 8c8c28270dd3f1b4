/**
 * The thin executor: applies planned steps with SQL, the ledger and the SMS outbox inside the caller's
 * transaction. It decides nothing; the one check it makes (a transition must find the row in its `from` state)
 * guards against a planner fed stale records, and aborts the whole transaction.
 */
import type { SqlArrayElement } from '../db/values.js'
import { insertRefused } from '../refused/store.js'
import { applyMarkSeen, applyTransitions } from './apply-updates.js'
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

/** offline_payments columns as inserted, with their SQL types (for the array parameters). */
const PAYMENT_COLUMNS: readonly (readonly [string, string])[] = [
  ['tx_id', 'text'],
  ['tenant_id', 'text'],
  ['wallet_id', 'text'],
  ['merchant_id', 'text'],
  ['device_id', 'text'],
  ['purse_id', 'text'],
  ['amount', 'bigint'],
  ['currency', 'text'],
  ['counter', 'bigint'],
  ['token', 'bytea'],
  ['token_hash', 'text'],
  ['state', 'text'],
  ['funded_from', 'text'],
  ['first_received_at', 'timestamptz'],
  ['merchant_seen_at', 'timestamptz'],
  ['payer_seen_at', 'timestamptz'],
  ['hold_until', 'timestamptz'],
  ['settled_at', 'timestamptz'],
  ['claim_until', 'timestamptz'],
  ['updated_at', 'timestamptz'],
]

function paymentValues(p: PaymentRecord): SqlArrayElement[] {
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
 * Insert payments in one statement with one array parameter per column (20 parameters however many rows,
 * so the server parses and plans a small statement); ON CONFLICT DO NOTHING makes a re-delivered batch
 * harmless. `table` exists for the benchmark's raw-insert baseline (a copy of offline_payments).
 */
export async function insertPayments(
  tx: Queryable,
  payments: PaymentRecord[],
  table = 'offline_payments',
): Promise<void> {
  if (payments.length === 0) return
  const rows = payments.map(paymentValues)
  // One array per column: sent in binary on PostgreSQL (db/binary-arrays.ts), by the driver itself on PGlite.
  const columns = PAYMENT_COLUMNS.map((_, j) => rows.map((r) => r[j]))
  const args = PAYMENT_COLUMNS.map(([, type], j) => `$${j + 1}::${type}[]`).join(', ')
  await tx.query(
    `INSERT INTO ${table} (${PAYMENT_COLUMNS.map(([name]) => name).join(', ')})
     SELECT * FROM unnest(${args}) ON CONFLICT (tenant_id, tx_id) DO NOTHING`,
    columns,
  )
}

/** Create missing purses in one statement (purse-id order, so concurrent batches never wait in a cycle). */
async function ensurePurses(tx: Queryable, purses: PurseRecord[]): Promise<void> {
  if (purses.length === 0) return
  await tx.query(
    `INSERT INTO offline_purses (purse_id, wallet_id, tenant_id, currency, purse_amount, spent, expires_at)
     SELECT p, w, t, c, a, 0, e
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::timestamptz[]) AS u(p, w, t, c, a, e)
      ORDER BY t, p
     ON CONFLICT (tenant_id, purse_id) DO NOTHING`,
    [
      purses.map((p) => p.purseId),
      purses.map((p) => p.walletId),
      purses.map((p) => p.tenantId),
      purses.map((p) => p.currency),
      purses.map((p) => p.purseAmount),
      purses.map((p) => ts(p.expiresAt)),
    ],
  )
}

/** Create missing offline_wallets rows in one statement. */
async function ensureWallets(
  tx: Queryable,
  wallets: { walletId: string; tenantId: string }[],
): Promise<void> {
  if (wallets.length === 0) return
  await tx.query(
    `INSERT INTO offline_wallets (wallet_id, tenant_id)
     SELECT w, t FROM unnest($1::text[], $2::text[]) AS u(w, t) ORDER BY t, w
     ON CONFLICT (tenant_id, wallet_id) DO NOTHING`,
    [wallets.map((w) => w.walletId), wallets.map((w) => w.tenantId)],
  )
}

/**
 * Apply a plan inside `tx`, set-based: row inserts, seen marks, transitions, purse spending and ledger
 * movements each go in one statement (or one ledger call) for the whole plan; the rare steps (proofs,
 * freezes, alerts, purse releases, payer notices) run one by one in plan order.
 */
export async function applySteps(tx: Queryable, steps: Step[], ports: ExecutorPorts): Promise<void> {
  await ensureWallets(
    tx,
    steps.flatMap((s) => (s.type === 'ensure_wallet' ? [s] : [])),
  )
  await ensurePurses(
    tx,
    steps.flatMap((s) => (s.type === 'ensure_purse' ? [s.purse] : [])),
  )
  await insertPayments(
    tx,
    steps.flatMap((s) => (s.type === 'insert_payment' ? [s.payment] : [])),
  )
  await insertRefused(
    tx,
    steps.flatMap((s) => (s.type === 'refuse_token' ? [s.refused] : [])),
  )
  await applyMarkSeen(
    tx,
    steps.flatMap((s) => (s.type === 'mark_seen' ? [s] : [])),
  )
  await applyTransitions(
    tx,
    steps.flatMap((s) => (s.type === 'transition' ? [s] : [])),
    (message) => new ExecutorError(message),
  )
  for (const s of steps) {
    switch (s.type) {
      case 'ensure_wallet':
      case 'ensure_purse':
      case 'insert_payment':
        break
      case 'mark_seen':
      case 'transition':
        break
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
          `INSERT INTO double_spend_proofs (tenant_id, wallet_id, kind, honoured_tx_id, refused_tx_id,
             honoured_token, refused_token, detected_at, refused_token_id)
           VALUES ($8, $1, $2, $3, $4, $5, $6, $7, $9) ON CONFLICT (tenant_id, refused_token_id) DO NOTHING`,
          [
            s.walletId,
            s.kind,
            s.honouredTxId,
            s.refusedTxId,
            s.honouredToken,
            s.refusedToken,
            ts(s.at),
            s.tenantId,
            s.refusedTokenId,
          ],
        )
        break
      case 'refuse_token':
        break
      case 'refused_owed':
        await tx.query(
          `UPDATE refused_tokens SET settle_state = 'pending'
            WHERE tenant_id = $1 AND token_id = $2 AND settle_state = 'awaiting_box'`,
          [s.tenantId, s.tokenId],
        )
        break
      case 'settle_refused': {
        const { rows } = await tx.query(
          `UPDATE refused_tokens SET paid_escrow = $3, paid_wallet = $4, unfunded = $5, settled_at = $6,
                  settle_state = CASE WHEN $5::bigint > 0 THEN 'unfunded' ELSE 'paid' END
            WHERE tenant_id = $1 AND token_id = $2 AND settle_state = 'pending' RETURNING token_id`,
          [s.tenantId, s.tokenId, s.paidEscrow, s.paidWallet, s.unfunded, ts(s.at)],
        )
        if (rows.length !== 1) throw new ExecutorError(`refused token ${s.tokenId} is not owed`)
        break
      }
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

/**
 * Purse spending, summed per purse, in ONE statement however many purses a batch touches. Each purse's row is
 * only ever changed under its wallet's offline_wallets lock, so the statement's row order cannot deadlock.
 */
async function applySpends(tx: Queryable, steps: Step[]): Promise<void> {
  const sums = new Map<string, { tenantId: string; purseId: string; delta: number }>()
  for (const s of steps) {
    if (s.type !== 'purse_spent') continue
    const k = `${s.tenantId}/${s.purseId}`
    const e = sums.get(k) ?? { tenantId: s.tenantId, purseId: s.purseId, delta: 0 }
    e.delta += s.delta
    sums.set(k, e)
  }
  if (sums.size === 0) return
  const list = [...sums.values()]
  await tx.query(
    `UPDATE offline_purses o SET spent = o.spent + u.d
       FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(t, p, d)
      WHERE o.tenant_id = u.t AND o.purse_id = u.p`,
    [list.map((e) => e.tenantId), list.map((e) => e.purseId), list.map((e) => e.delta)],
  )
}

/**
 * Ledger movements of the plan: each keeps its own ref (`offline:{txId}:{stage}`, `refused:{token}:{stage}`,
 * `purse:{id}:release`), so the ledger itself refuses to move money twice for one payment stage; all of them
 * go to the ledger in one call, as one entry per tenant (a fixed number of statements, not a round trip or an
 * entry per movement).
 */
async function applyTransfers(tx: Queryable, steps: Step[], ledger: LedgerPort): Promise<void> {
  const moves = steps.flatMap((s) => (s.type === 'transfer' ? [s] : []))
  if (moves.length > 0) await ledger.transferMany(tx, moves)
}
