/**
 * Reading reconciliation records from SQL, with the row locks that make concurrent replicas safe: every decision
 * about a wallet happens while its offline_wallets row is locked, and wallets are locked in id order so two
 * transactions never wait on each other in a cycle.
 */
import type { Queryable } from './ports.js'
import type { PaymentRecord, PaymentState, PurseRecord, WalletRecord } from './types.js'

const ms = (v: unknown): number | null =>
  v === null || v === undefined ? null : new Date(v as string).getTime()
const bytes = (v: unknown): Uint8Array => (v instanceof Uint8Array ? v : new Uint8Array(v as ArrayBuffer))

/** Map an offline_payments row to a record. */
export function rowToPayment(r: Record<string, unknown>): PaymentRecord {
  return {
    txId: String(r.tx_id),
    tenantId: String(r.tenant_id),
    walletId: String(r.wallet_id),
    merchantId: String(r.merchant_id),
    deviceId: String(r.device_id),
    purseId: String(r.purse_id),
    amount: Number(r.amount),
    currency: String(r.currency),
    counter: Number(r.counter),
    token: bytes(r.token),
    tokenHash: String(r.token_hash),
    state: String(r.state) as PaymentState,
    fundedFrom: String(r.funded_from) as PaymentRecord['fundedFrom'],
    firstReceivedAt: ms(r.first_received_at)!,
    merchantSeenAt: ms(r.merchant_seen_at),
    payerSeenAt: ms(r.payer_seen_at),
    holdUntil: ms(r.hold_until),
    settledAt: ms(r.settled_at),
    claimUntil: ms(r.claim_until),
  }
}

function rowToPurse(r: Record<string, unknown>): PurseRecord {
  return {
    purseId: String(r.purse_id),
    walletId: String(r.wallet_id),
    tenantId: String(r.tenant_id),
    currency: String(r.currency),
    purseAmount: Number(r.purse_amount),
    spent: Number(r.spent),
    expiresAt: ms(r.expires_at)!,
    releasedAt: ms(r.released_at),
  }
}

/**
 * Lock the offline_wallets rows of one tenant's wallets, in id order, creating those that are new. Almost every
 * wallet of a batch has paid before, so the lock comes first (one statement); only the wallets it did not find
 * are then inserted (in id order; a concurrent insert of the same wallet waits for that one to commit) and
 * locked.
 */
export async function lockWallets(
  tx: Queryable,
  tenantId: string,
  walletIds: string[],
): Promise<WalletRecord[]> {
  const ids = [...new Set(walletIds)].sort()
  if (ids.length === 0) return []
  const lock = (list: string[]) =>
    tx.query<{ wallet_id: string; tenant_id: string; frozen_at: Date | null }>(
      `SELECT wallet_id, tenant_id, frozen_at FROM offline_wallets
       WHERE tenant_id = $1 AND wallet_id = ANY($2::text[]) ORDER BY wallet_id FOR UPDATE`,
      [tenantId, list],
    )
  let { rows } = await lock(ids)
  if (rows.length < ids.length) {
    const found = new Set(rows.map((r) => r.wallet_id))
    const missing = ids.filter((w) => !found.has(w))
    await tx.query(
      `INSERT INTO offline_wallets (tenant_id, wallet_id)
       SELECT $1, w FROM unnest($2::text[]) AS w ORDER BY w ON CONFLICT (tenant_id, wallet_id) DO NOTHING`,
      [tenantId, missing],
    )
    rows = [...rows, ...(await lock(missing)).rows].sort((a, b) =>
      a.wallet_id < b.wallet_id ? -1 : a.wallet_id > b.wallet_id ? 1 : 0,
    )
  }
  return rows.map((r) => ({
    walletId: String(r.wallet_id),
    tenantId: String(r.tenant_id),
    frozenAt: ms(r.frozen_at),
  }))
}

/**
 * Payments with one of these tx ids, or of one of these wallets at a counter within one of these ranges, locked
 * in tx-id order. Each id is one index probe (primary key) and each (wallet, counter range) one index range
 * scan ((tenant, wallet, counter)), whatever the statistics say: the probes are LATERAL subqueries fenced by
 * LIMIT / OFFSET, which the planner cannot flatten into a join. As a join (or an OR, or `= ANY`), a table without
 * fresh statistics — a new deployment, a table that just grew — was planned as a scan of the tenant's every
 * payment per batch, growing with each payment received.
 */
export async function loadPaymentsFor(
  tx: Queryable,
  tenantId: string,
  txIds: string[],
  walletRanges: CounterRange[],
): Promise<PaymentRecord[]> {
  const { rows } = await tx.query(
    `SELECT p.* FROM (
       SELECT DISTINCT tx_id FROM (
         SELECT x AS tx_id FROM unnest($2::text[]) AS x
         UNION ALL
         SELECT q.tx_id FROM unnest($3::text[], $4::bigint[], $5::bigint[]) AS u(w, lo, hi)
           CROSS JOIN LATERAL (SELECT o.tx_id FROM offline_payments o
                                WHERE o.tenant_id = $1 AND o.wallet_id = u.w
                                  AND o.counter BETWEEN u.lo AND u.hi OFFSET 0) q
       ) AS ids ORDER BY tx_id) AS i
     CROSS JOIN LATERAL (SELECT * FROM offline_payments o WHERE o.tenant_id = $1 AND o.tx_id = i.tx_id
                          LIMIT 1 FOR UPDATE) AS p
     ORDER BY p.tx_id`,
    [
      tenantId,
      txIds,
      walletRanges.map((r) => r.walletId),
      walletRanges.map((r) => r.from),
      walletRanges.map((r) => r.to),
    ],
  )
  return rows.map(rowToPayment)
}

/** The counters `from`..`to` (inclusive) of one wallet. */
export interface CounterRange {
  walletId: string
  from: number
  to: number
}

/**
 * The fewest ranges that cover counters c − 1, c and c + 1 of every (wallet, c): a token's own counter and its
 * neighbours on either side. Windows of one wallet that overlap or touch merge into one range, so a wallet's run
 * of consecutive payments (the usual batch) is one range scan instead of three probes a token; a counter far
 * from the others stays a range of its own (nothing between them is read).
 */
export function neighbourRanges(tokens: readonly { walletId: string; counter: number }[]): CounterRange[] {
  const sorted = [...tokens].sort((a, b) =>
    a.walletId < b.walletId ? -1 : a.walletId > b.walletId ? 1 : a.counter - b.counter,
  )
  const out: CounterRange[] = []
  for (const t of sorted) {
    const last = out[out.length - 1]
    if (last && last.walletId === t.walletId && t.counter - 1 <= last.to + 1) {
      last.to = Math.max(last.to, t.counter + 1)
    } else {
      out.push({ walletId: t.walletId, from: t.counter - 1, to: t.counter + 1 })
    }
  }
  return out
}

/** Purses by id (callers hold the owning wallets' locks). */
export async function loadPurses(
  tx: Queryable,
  tenantId: string,
  purseIds: string[],
): Promise<PurseRecord[]> {
  if (purseIds.length === 0) return []
  const { rows } = await tx.query(
    'SELECT * FROM offline_purses WHERE tenant_id = $1 AND purse_id = ANY($2::text[])',
    [tenantId, purseIds],
  )
  return rows.map(rowToPurse)
}

/** One payment, locked. */
export async function loadPaymentForUpdate(
  tx: Queryable,
  tenantId: string,
  txId: string,
): Promise<PaymentRecord | null> {
  const { rows } = await tx.query(
    'SELECT * FROM offline_payments WHERE tenant_id = $1 AND tx_id = $2 FOR UPDATE',
    [tenantId, txId],
  )
  return rows[0] ? rowToPayment(rows[0]) : null
}

/**
 * Held payments due for approval, locked with SKIP LOCKED so several replicas sweeping at once each take
 * different rows and none waits.
 */
export async function claimDuePayments(
  tx: Queryable,
  tenantId: string,
  now: number,
  limit: number,
): Promise<PaymentRecord[]> {
  const { rows } = await tx.query(
    `SELECT * FROM offline_payments WHERE tenant_id = $1 AND state = 'held' AND hold_until <= $2
     ORDER BY hold_until LIMIT $3 FOR UPDATE SKIP LOCKED`,
    [tenantId, new Date(now), limit],
  )
  return rows.map(rowToPayment)
}

/**
 * Tenants with a held payment whose hold ended by `now`: the approval sweep serves them one at a time, so each
 * transaction stays inside one tenant (one shard when the database is distributed by tenant).
 */
export async function tenantsWithDuePayments(tx: Queryable, now: number): Promise<string[]> {
  const { rows } = await tx.query<{ tenant_id: string }>(
    `SELECT DISTINCT tenant_id FROM offline_payments WHERE state = 'held' AND hold_until <= $1 ORDER BY tenant_id`,
    [new Date(now)],
  )
  return rows.map((r) => r.tenant_id)
}

/** Where a tenant's purse sweep stopped: the last (expires_at, purse_id) it looked at. */
export interface PurseCursor {
  expiresAt: number
  purseId: string
}

/**
 * Tenants with at least one unreleased purse that expired at or before `cutoff` (offline purses, and purses
 * loaded but never spent from offline). The sweep serves each of them in turn, so one tenant's backlog never
 * delays another's releases.
 */
export async function tenantsWithDuePurses(tx: Queryable, cutoff: number): Promise<string[]> {
  const { rows } = await tx.query<{ tenant_id: string }>(
    `SELECT tenant_id FROM offline_purses WHERE released_at IS NULL AND expires_at <= $1
     UNION
     SELECT wp.tenant_id FROM wallet_purses wp
      WHERE wp.expires_at <= $1 AND NOT EXISTS (SELECT 1 FROM offline_purses op
              WHERE op.tenant_id = wp.tenant_id AND op.purse_id = wp.wallet_id || ':' || wp.counter_base)
     ORDER BY tenant_id`,
    [new Date(cutoff)],
  )
  return rows.map((r) => r.tenant_id)
}

/**
 * One page of a tenant's unreleased purses that expired at or before `cutoff`, in (expires_at, purse_id)
 * order strictly after `after` (keyset paging): candidates only, each is re-checked under its wallet's lock.
 * A purse that cannot be released yet is stepped over by the next page instead of heading every sweep.
 */
export async function duePurseCandidates(
  tx: Queryable,
  tenantId: string,
  cutoff: number,
  after: PurseCursor | null,
  limit: number,
): Promise<PurseRecord[]> {
  const { rows } = await tx.query(
    `SELECT * FROM (
       SELECT tenant_id, purse_id, wallet_id, currency, purse_amount, spent, expires_at, released_at
         FROM offline_purses
        WHERE tenant_id = $1 AND released_at IS NULL AND expires_at <= $2
          AND (expires_at, purse_id) > ($3::timestamptz, $4::text)
       UNION ALL
       SELECT wp.tenant_id, wp.wallet_id || ':' || wp.counter_base, wp.wallet_id, wp.currency, wp.amount, 0,
              wp.expires_at, NULL
         FROM wallet_purses wp
        WHERE wp.tenant_id = $1 AND wp.expires_at <= $2
          AND (wp.expires_at, wp.wallet_id || ':' || wp.counter_base) > ($3::timestamptz, $4::text)
          AND NOT EXISTS (SELECT 1 FROM offline_purses op
                WHERE op.tenant_id = wp.tenant_id AND op.purse_id = wp.wallet_id || ':' || wp.counter_base)
     ) due ORDER BY expires_at, purse_id LIMIT $5`,
    [
      tenantId,
      new Date(cutoff),
      after ? new Date(after.expiresAt) : new Date(0),
      after ? after.purseId : '',
      limit,
    ],
  )
  return rows.map(rowToPurse)
}

/**
 * Lock one wallet without waiting (another replica or an arrival holds it → null), then load one of its purses
 * (recording a loaded-but-unused purse on first sight) and that purse's held payments (a disputed payment's
 * money already left escrow for merchant_held, so it does not hold the purse back).
 */
export async function lockPurseForRelease(
  tx: Queryable,
  c: PurseRecord,
): Promise<{ purse: PurseRecord; payments: PaymentRecord[] } | null> {
  await tx.query(
    'INSERT INTO offline_wallets (tenant_id, wallet_id) VALUES ($1, $2) ON CONFLICT (tenant_id, wallet_id) DO NOTHING',
    [c.tenantId, c.walletId],
  )
  const w = await tx.query(
    'SELECT wallet_id FROM offline_wallets WHERE tenant_id = $1 AND wallet_id = $2 FOR UPDATE SKIP LOCKED',
    [c.tenantId, c.walletId],
  )
  if (w.rows.length === 0) return null
  await tx.query(
    `INSERT INTO offline_purses (tenant_id, purse_id, wallet_id, currency, purse_amount, spent, expires_at)
     VALUES ($1, $2, $3, $4, $5, 0, $6) ON CONFLICT (tenant_id, purse_id) DO NOTHING`,
    [c.tenantId, c.purseId, c.walletId, c.currency, c.purseAmount, new Date(c.expiresAt)],
  )
  const [purse] = await loadPurses(tx, c.tenantId, [c.purseId])
  if (!purse) return null
  // Through the (tenant, wallet, counter) index: a purse's tokens all count above its base (verifyToken), and its
  // id is "<wallet>:<base>". No index by purse is kept on offline_payments, the hottest insert of ingest.
  const base = c.purseId.slice(c.purseId.lastIndexOf(':') + 1)
  const p = await tx.query(
    `SELECT * FROM offline_payments
      WHERE tenant_id = $1 AND wallet_id = $3 AND counter > $4::bigint AND purse_id = $2 AND state = 'held'`,
    [c.tenantId, c.purseId, c.walletId, /^\d+$/.test(base) ? base : '-1'],
  )
  return { purse, payments: p.rows.map(rowToPayment) }
}

/**
 * wallet_available balances (minor units) of wallets, each in the given currency: the same sum of postings as
 * the ledger_balances view, read by account (the view aggregates every account before filtering).
 */
export async function walletAvailable(
  tx: Queryable,
  tenantId: string,
  wallets: { walletId: string; currency: string }[],
): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  if (wallets.length === 0) return out
  const { rows } = await tx.query(
    `SELECT a.owner, COALESCE((SELECT sum(p.amount) FROM ledger_postings p WHERE p.account_id = a.id), 0)::bigint
            AS balance
       FROM unnest($2::text[], $3::text[]) AS u(o, c)
       JOIN ledger_accounts a ON a.tenant_id = $1 AND a.kind = 'wallet_available' AND a.owner = u.o
        AND a.currency = u.c`,
    [tenantId, wallets.map((w) => w.walletId), wallets.map((w) => w.currency)],
  )
  for (const r of rows) out[String(r.owner)] = Number(r.balance)
  return out
}
