/**
 * refused_tokens (migration 220): every token the bridge refuses, from a box batch or a wallet log upload, with
 * its reason and raw bytes. Reconciliation writes the validly signed ones it refuses (with the token they
 * conflict with); ingest and the wallet-log route write the ones that failed verification or the upload checks.
 * One row per token identity, so a re-delivery adds nothing.
 */
import { decodeToken } from '@opg/protocol'
import type { Queryable } from '../reconcile/ports.js'
import type { RefusedRecord, RefusedSettleState } from '../reconcile/types.js'
import { purseIdOf } from '../verify/verify-token.js'

const ms = (v: unknown): number => new Date(v as string).getTime()
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v))
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v))

export function rowToRefused(r: Record<string, unknown>): RefusedRecord {
  return {
    tenantId: String(r.tenant_id),
    tokenId: String(r.token_id),
    txId: str(r.tx_id),
    walletId: str(r.wallet_id),
    merchantId: str(r.merchant_id),
    deviceId: str(r.device_id),
    purseId: str(r.purse_id),
    counter: num(r.counter),
    amount: num(r.amount),
    currency: str(r.currency),
    reason: String(r.reason),
    source: String(r.source) as RefusedRecord['source'],
    receivedFrom: String(r.received_from),
    valid: Boolean(r.valid),
    proofOf: str(r.proof_of),
    proofOfTokenId: str(r.proof_of_token_id),
    token: r.token instanceof Uint8Array ? r.token : new Uint8Array(r.token as ArrayBuffer),
    receivedAt: ms(r.received_at),
    settleState: String(r.settle_state) as RefusedSettleState,
  }
}

/**
 * A refused token that did not verify (or failed an upload check): what its bytes say, read without trusting
 * them (the fields help the operator; `valid` says whether the wallet's signature held).
 */
export function describeRefused(o: {
  tenantId: string
  tokenId: string
  token: Uint8Array
  reason: string
  source: RefusedRecord['source']
  receivedFrom: string
  valid: boolean
  at: number
}): RefusedRecord {
  let f: Pick<
    RefusedRecord,
    'txId' | 'walletId' | 'merchantId' | 'deviceId' | 'purseId' | 'counter' | 'amount' | 'currency'
  > = {
    txId: null,
    walletId: null,
    merchantId: null,
    deviceId: null,
    purseId: null,
    counter: null,
    amount: null,
    currency: null,
  }
  try {
    const t = decodeToken(o.token)
    f = {
      txId: t.txId,
      walletId: t.walletId,
      merchantId: t.merchantId,
      deviceId: t.deviceId,
      purseId: purseIdOf(t.walletId, t.cert.counterBase),
      counter: t.counter,
      amount: t.amount,
      currency: t.currency,
    }
  } catch {
    // Not even a token's structure: kept as bytes with the reason.
  }
  return {
    tenantId: o.tenantId,
    tokenId: o.tokenId,
    ...f,
    reason: o.reason,
    source: o.source,
    receivedFrom: o.receivedFrom,
    valid: o.valid,
    proofOf: null,
    proofOfTokenId: null,
    token: o.token,
    receivedAt: o.at,
    settleState: 'none',
  }
}

const COLUMNS: readonly (readonly [string, string, (r: RefusedRecord) => unknown])[] = [
  ['tenant_id', 'text', (r) => r.tenantId],
  ['token_id', 'text', (r) => r.tokenId],
  ['tx_id', 'text', (r) => r.txId],
  ['wallet_id', 'text', (r) => r.walletId],
  ['merchant_id', 'text', (r) => r.merchantId],
  ['device_id', 'text', (r) => r.deviceId],
  ['purse_id', 'text', (r) => r.purseId],
  ['counter', 'bigint', (r) => r.counter],
  ['amount', 'bigint', (r) => r.amount],
  ['currency', 'text', (r) => r.currency],
  ['reason', 'text', (r) => r.reason],
  ['source', 'text', (r) => r.source],
  ['received_from', 'text', (r) => r.receivedFrom],
  ['valid', 'boolean', (r) => r.valid],
  ['proof_of', 'text', (r) => r.proofOf],
  ['proof_of_token_id', 'text', (r) => r.proofOfTokenId],
  ['token', 'bytea', (r) => r.token],
  ['received_at', 'timestamptz', (r) => new Date(r.receivedAt)],
  ['settle_state', 'text', (r) => r.settleState],
]

// A token first refused by an upload check (say, pasted into another wallet's log) and later refused by a
// reconciliation rule becomes the rule's refusal, with what it owes: the earlier row must not hide the proof.
const UPGRADE = COLUMNS.filter(([n]) => n !== 'tenant_id' && n !== 'token_id' && n !== 'received_at')
  .map(([n]) => `${n} = EXCLUDED.${n}`)
  .join(', ')

/**
 * Insert refused tokens in one statement; returns those that were new (a token already kept is skipped, unless
 * a rule now refuses what only an upload check had refused).
 */
export async function insertRefused(tx: Queryable, given: RefusedRecord[]): Promise<RefusedRecord[]> {
  if (given.length === 0) return []
  // One statement may not touch a row twice: the same bytes sent twice in one upload are kept once, as the
  // refusal that owes something if one of them does.
  const once = new Map<string, RefusedRecord>()
  for (const r of given) {
    const key = `${r.tenantId}\u0000${r.tokenId}`
    const seen = once.get(key)
    if (!seen || (seen.settleState === 'none' && r.settleState !== 'none')) once.set(key, r)
  }
  const rows = [...once.values()]
  const args = COLUMNS.map(([, type], j) => `$${j + 1}::${type}[]`).join(', ')
  const { rows: out } = await tx.query(
    `INSERT INTO refused_tokens (${COLUMNS.map(([n]) => n).join(', ')})
     SELECT * FROM unnest(${args})
     ON CONFLICT (tenant_id, token_id) DO UPDATE SET ${UPGRADE}
      WHERE refused_tokens.settle_state = 'none' AND EXCLUDED.settle_state <> 'none'
     RETURNING *`,
    COLUMNS.map(([, , get]) => rows.map(get)),
  )
  return out.map(rowToRefused)
}

/** Refused tokens of one tenant with these identities, locked (their settlement may change). */
export async function loadRefused(
  tx: Queryable,
  tenantId: string,
  tokenIds: string[],
): Promise<RefusedRecord[]> {
  if (tokenIds.length === 0) return []
  const { rows } = await tx.query(
    'SELECT * FROM refused_tokens WHERE tenant_id = $1 AND token_id = ANY($2::text[]) ORDER BY id FOR UPDATE',
    [tenantId, [...new Set(tokenIds)]],
  )
  return rows.map(rowToRefused)
}

/** What a purse owes to merchants holding receipts for refused tokens (caller holds the wallet lock). */
export async function owedByPurse(
  tx: Queryable,
  tenantId: string,
  purseId: string,
): Promise<RefusedRecord[]> {
  const { rows } = await tx.query(
    `SELECT * FROM refused_tokens WHERE tenant_id = $1 AND purse_id = $2 AND settle_state = 'pending'
     ORDER BY received_at, id FOR UPDATE`,
    [tenantId, purseId],
  )
  return rows.map(rowToRefused)
}

export interface RefusedFilter {
  reason?: string
  merchantId?: string
  deviceId?: string
  limit: number
}

/** The operator's list, newest first; `deviceId` matches the device the token names or the box that sent it. */
export async function listRefused(
  q: Queryable,
  tenantId: string,
  f: RefusedFilter,
): Promise<(RefusedRecord & { id: string; paidEscrow: number; paidWallet: number; unfunded: number })[]> {
  const { rows } = await q.query(
    `SELECT * FROM refused_tokens
      WHERE tenant_id = $1
        AND ($2::text IS NULL OR reason = $2)
        AND ($3::text IS NULL OR merchant_id = $3)
        AND ($4::text IS NULL OR device_id = $4 OR (source = 'box' AND received_from = $4))
      ORDER BY received_at DESC, id DESC LIMIT $5`,
    [tenantId, f.reason ?? null, f.merchantId ?? null, f.deviceId ?? null, f.limit],
  )
  return rows.map((r) => ({
    ...rowToRefused(r),
    id: String(r.id),
    paidEscrow: Number(r.paid_escrow),
    paidWallet: Number(r.paid_wallet),
    unfunded: Number(r.unfunded),
  }))
}

/**
 * Refused tokens of a tenant (or of the tokens naming one merchant): in all, from wallet logs, and per box that
 * sent them (the fleet view).
 */
export async function refusedCounts(
  q: Queryable,
  tenantId: string,
  merchantId?: string,
): Promise<{ total: number; walletLog: number; byDevice: Record<string, number> }> {
  const { rows } = await q.query<{ source: string; received_from: string; n: bigint }>(
    `SELECT source, received_from, count(*) AS n FROM refused_tokens
      WHERE tenant_id = $1 AND ($2::text IS NULL OR merchant_id = $2)
      GROUP BY source, received_from`,
    [tenantId, merchantId ?? null],
  )
  const out = { total: 0, walletLog: 0, byDevice: {} as Record<string, number> }
  for (const r of rows) {
    const n = Number(r.n)
    out.total += n
    if (r.source === 'box') out.byDevice[r.received_from] = (out.byDevice[r.received_from] ?? 0) + n
    else out.walletLog += n
  }
  return out
}
