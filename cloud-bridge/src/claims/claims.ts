/**
 * Fraud claims. A payer claims one of its offline payments: the payment becomes disputed (reconciliation
 * stops auto-approving it); an operator then reverses it (money back to the payer) or upholds it
 * (merchant keeps it). The ledger moves happen in the reconciliation module; this module keeps the claim —
 * the one record of who claimed, why, and what was decided (the payment row keeps only its state).
 *
 * Filing and resolving each run in ONE transaction with reconciliation's dispute/decision: a claim row never
 * exists without its disputed payment, a disputed payment never exists without its claim, and a decision
 * is applied to the money and recorded on the claim together — a crash in between rolls both back, and a
 * retry finds everything as it was.
 */
import { BridgeError } from '../api/errors.js'
import type { Database, Queryable, ReconcilerPort } from '../api/ports.js'
import { newId } from '../db/ids.js'

/** Decision of an operator on a claim. */
export type ClaimDecision = 'reverse' | 'uphold'

/** A claim as stored. */
export interface Claim {
  id: string
  txId: string
  walletId: string
  reason: string
  status: 'open' | 'reversed' | 'upheld'
  filedAt: Date
  resolvedAt: Date | null
  note: string | null
}

interface ClaimRow {
  id: string
  tx_id: string
  wallet_id: string
  reason: string
  status: Claim['status']
  filed_at: Date
  resolved_at: Date | null
  note: string | null
}

const COLS = 'id, tx_id, wallet_id, reason, status, filed_at, resolved_at, note'

function toClaim(r: ClaimRow): Claim {
  return {
    id: r.id,
    txId: r.tx_id,
    walletId: r.wallet_id,
    reason: r.reason,
    status: r.status,
    filedAt: new Date(r.filed_at),
    resolvedAt: r.resolved_at ? new Date(r.resolved_at) : null,
    note: r.note,
  }
}

/** Payment statuses a payer may still claim. */
const CLAIMABLE = new Set(['held', 'confirmed', 'auto_approved'])

/** File the payer's claim on its payment `txId`. A payment of another wallet is `not_found`. */
export async function fileClaim(
  db: Database,
  reconciler: ReconcilerPort,
  tenantId: string,
  walletId: string,
  txId: string,
  reason: string,
): Promise<Claim> {
  const payment = await reconciler.payment(tenantId, txId)
  if (!payment || payment.walletId !== walletId) throw new BridgeError('not_found', 'no such payment')
  return db.transaction(async (tx) => {
    // The payment row is locked by the dispute below; a concurrent second claim waits for it, then finds
    // this claim (or the payment no longer claimable).
    const existing = await tx.query('SELECT 1 FROM claims WHERE tenant_id = $1 AND tx_id = $2', [
      tenantId,
      txId,
    ])
    if (existing.rows.length > 0) throw new BridgeError('conflict', 'payment already claimed')
    if (!CLAIMABLE.has(payment.status))
      throw new BridgeError('claim_not_allowed', `payment is ${payment.status}`)
    await reconciler.dispute(tenantId, walletId, txId, reason, tx)
    const { rows } = await tx.query<ClaimRow>(
      `INSERT INTO claims (tenant_id, id, tx_id, wallet_id, reason, status) VALUES ($1, $2, $3, $4, $5, 'open')
       ON CONFLICT (tenant_id, tx_id) DO NOTHING RETURNING ${COLS}`,
      [tenantId, newId(), txId, walletId, reason],
    )
    if (!rows[0]) throw new BridgeError('conflict', 'payment already claimed')
    return toClaim(rows[0])
  })
}

/** A claim of the tenant, or null. */
export async function getClaim(q: Queryable, tenantId: string, id: string): Promise<Claim | null> {
  const { rows } = await q.query<ClaimRow>(`SELECT ${COLS} FROM claims WHERE tenant_id = $1 AND id = $2`, [
    tenantId,
    id,
  ])
  return rows[0] ? toClaim(rows[0]) : null
}

/** The tenant's claims, optionally one wallet's, newest first. */
export async function listClaims(
  q: Queryable,
  tenantId: string,
  filter: { walletId?: string; status?: Claim['status'] },
): Promise<Claim[]> {
  const params: unknown[] = [tenantId]
  let where = 'tenant_id = $1'
  if (filter.walletId !== undefined) {
    params.push(filter.walletId)
    where += ` AND wallet_id = $${params.length}`
  }
  if (filter.status !== undefined) {
    params.push(filter.status)
    where += ` AND status = $${params.length}`
  }
  const { rows } = await q.query<ClaimRow>(
    `SELECT ${COLS} FROM claims WHERE ${where} ORDER BY filed_at DESC, id LIMIT 500`,
    params,
  )
  return rows.map(toClaim)
}

/** Operator decision: reverse or uphold an open claim, applied through reconciliation and the ledger. */
export async function resolveClaim(
  db: Database,
  reconciler: ReconcilerPort,
  tenantId: string,
  claimId: string,
  decision: ClaimDecision,
  by: string,
  note: string | null,
): Promise<Claim> {
  return db.transaction(async (tx) => {
    // Lock the claim first: two operators deciding at once take turns, and the second finds it closed.
    const { rows: found } = await tx.query<ClaimRow>(
      `SELECT ${COLS} FROM claims WHERE tenant_id = $1 AND id = $2 FOR UPDATE`,
      [tenantId, claimId],
    )
    const claim = found[0] ? toClaim(found[0]) : null
    if (!claim) throw new BridgeError('not_found', 'no such claim')
    if (claim.status !== 'open') throw new BridgeError('claim_closed', 'claim already resolved')
    await reconciler.resolveDispute(tenantId, claim.txId, decision, by, tx)
    const { rows } = await tx.query<ClaimRow>(
      `UPDATE claims SET status = $3, resolved_at = now(), resolved_by = $4, note = $5
       WHERE tenant_id = $1 AND id = $2 AND status = 'open' RETURNING ${COLS}`,
      [tenantId, claimId, decision === 'reverse' ? 'reversed' : 'upheld', by, note],
    )
    if (!rows[0]) throw new BridgeError('claim_closed', 'claim resolved concurrently')
    // The decision answers the alert the claim raised: it leaves the operator's open alerts.
    await tx.query(
      `UPDATE operator_alerts SET acknowledged_at = now()
       WHERE tenant_id = $1 AND kind = 'claim' AND tx_id = $2 AND acknowledged_at IS NULL`,
      [tenantId, claim.txId],
    )
    return toClaim(rows[0])
  })
}
