/**
 * Batched postings: many movements (amount from one account to another, each under its own ref) posted as ONE
 * journal entry per tenant whose postings are the net of the movements per account, in a fixed number of
 * statements however many movements there are. Reconciliation posts a device batch or a sweep this way: a
 * 100-payment batch from 100 payers to one merchant writes 100 movement rows, one entry and 101 postings,
 * instead of 100 entries and 200 postings.
 *
 * What each movement was stays in ledger_movements (migration 422), unique per (tenant, ref), so the guarantees
 * of post() hold per movement: a ref recorded before with the same accounts and amount is a replay (nothing is
 * posted again), with anything else a ref_conflict; guarded accounts the movements touch are locked by one
 * statement in account-id order and their running balances read with the lock held; the movements are then checked
 * in input order against the running balance, so one that would take a guarded account below zero is refused
 * exactly where posting them one by one would refuse it. On any error the caller's transaction must be rolled
 * back (or the call wrapped in a savepoint).
 */
import { newUuid } from '../db/ids.js'
import { type Account, type AccountKind, accountKey, GUARDED_KINDS } from './accounts.js'
import { LedgerError } from './errors.js'
import { accountIdsOf, type LedgerTx, lockGuarded, netByAccount, validate } from './post.js'

/** One movement of `amount` (> 0 minor units) between two accounts of the same tenant and currency. */
export interface Movement {
  /** Unique per tenant and movement (e.g. `offline:<txId>:hold`); 1–200 characters. */
  ref: string
  tenantId: string
  memo?: string
  from: Account
  to: Account
  amount: bigint
}

/** A movement as recorded: the entry that carries it, and whether it had been recorded before. */
export interface RecordedMovement {
  ref: string
  tenantId: string
  entryId: string
  replayed: boolean
}

const refKey = (tenantId: string, ref: string) => `${tenantId}\n${ref}`

/** Refuse a malformed movement, with post()'s rules for the two postings it stands for. */
function validateMovement(m: Movement): void {
  if (typeof m.amount !== 'bigint' || m.amount <= 0n) {
    throw new LedgerError('bad_posting', 'a movement amount must be a positive bigint')
  }
  if (m.from?.currency !== m.to?.currency)
    throw new LedgerError('bad_posting', 'a movement is in one currency')
  if (accountKey(m.from) === accountKey(m.to))
    throw new LedgerError('bad_posting', 'a movement needs two accounts')
  validate({
    ref: m.ref,
    tenantId: m.tenantId,
    postings: [
      { account: m.from, amount: -m.amount },
      { account: m.to, amount: m.amount },
    ],
  })
}

/** What an entry carrying these movements says: each memo with how many times it occurs. */
function memoOf(moves: Movement[]): string {
  const counts = new Map<string, number>()
  for (const m of moves) counts.set(m.memo ?? '', (counts.get(m.memo ?? '') ?? 0) + 1)
  const parts = [...counts].map(([memo, n]) => `${memo || 'movement'} ×${n}`)
  return `${moves.length} movement${moves.length === 1 ? '' : 's'}: ${parts.join('; ')}`
}

/**
 * Post movements inside the caller's transaction `tx`: one entry per tenant for the movements not recorded
 * before. Returns one RecordedMovement per input, in order. Refs must be distinct per tenant within one call.
 * Throws LedgerError: bad_posting, unbalanced, insufficient_funds, ref_conflict, not_in_transaction.
 */
export async function postMovements(tx: LedgerTx, moves: Movement[]): Promise<RecordedMovement[]> {
  if (moves.length === 0) return []
  const seen = new Set<string>()
  for (const m of moves) {
    validateMovement(m)
    const k = refKey(m.tenantId, m.ref)
    if (seen.has(k)) throw new LedgerError('bad_posting', `ref ${m.ref} appears twice in one call`)
    seen.add(k)
  }
  // The transaction-local marker of post(): outside a transaction it is gone by the next statement.
  await tx.query("SELECT set_config('opg.ledger_tx', '1', true)")

  const accounts = new Map<string, Account>()
  for (const m of moves) {
    accounts.set(accountKey(m.from), m.from)
    accounts.set(accountKey(m.to), m.to)
  }
  const ids = await accountIdsOf(tx, [...accounts.values()])
  const idOf = (a: Account) => ids.get(accountKey(a))!

  // One entry per tenant; its id is chosen here so the movement rows can name it before it is written.
  const entryOf = new Map<string, string>()
  for (const m of moves) if (!entryOf.has(m.tenantId)) entryOf.set(m.tenantId, newUuid())

  // Movement rows in (tenant, ref) order, so two concurrent calls never wait on each other in a cycle.
  const order = moves
    .map((m, i) => ({ m, i, key: refKey(m.tenantId, m.ref) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  // No RETURNING: the count says whether every movement is new, as it almost always is; only when some are
  // not are the refs read back, and those carrying this call's entry are the ones it wrote.
  const ins = await tx.query(
    `INSERT INTO ledger_movements (tenant_id, ref, entry_id, from_account, to_account, amount, memo)
     SELECT t, r, e, f, d, a, m
       FROM unnest($1::text[], $2::text[], $3::uuid[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[])
            WITH ORDINALITY AS u(t, r, e, f, d, a, m, n)
      WHERE current_setting('opg.ledger_tx', true) = '1'
      ORDER BY n
     ON CONFLICT (tenant_id, ref) DO NOTHING`,
    [
      order.map((o) => o.m.tenantId),
      order.map((o) => o.m.ref),
      order.map((o) => entryOf.get(o.m.tenantId)!),
      order.map((o) => idOf(o.m.from)),
      order.map((o) => idOf(o.m.to)),
      order.map((o) => o.m.amount),
      order.map((o) => o.m.memo ?? ''),
    ],
  )
  if (ins.rowCount === 0) {
    const inTx = await tx.query<{ ok: boolean }>("SELECT current_setting('opg.ledger_tx', true) = '1' AS ok")
    if (!inTx.rows[0]?.ok) {
      throw new LedgerError('not_in_transaction', 'postMovements() must run inside a transaction')
    }
  }
  const out: RecordedMovement[] = new Array(moves.length)
  const isFresh = new Array<boolean>(moves.length).fill(true)

  // Refs recorded before: each must be the same movement (a replay), as post() requires.
  if (ins.rowCount < order.length) {
    const recorded = await tx.query<{
      tenant_id: string
      ref: string
      entry_id: string
      from_account: bigint
      to_account: bigint
      amount: bigint
    }>(
      `SELECT v.tenant_id, v.ref, v.entry_id, v.from_account, v.to_account, v.amount FROM ledger_movements v
         JOIN unnest($1::text[], $2::text[]) AS u(t, r) ON v.tenant_id = u.t AND v.ref = u.r`,
      [order.map((o) => o.m.tenantId), order.map((o) => o.m.ref)],
    )
    const byRef = new Map(recorded.rows.map((r) => [refKey(r.tenant_id, r.ref), r]))
    for (const { m, i, key } of order) {
      const p = byRef.get(key)
      if (p?.entry_id === entryOf.get(m.tenantId)) continue
      if (!p) throw new LedgerError('ref_conflict', 'ref is being posted concurrently; retry')
      if (p.from_account !== idOf(m.from) || p.to_account !== idOf(m.to) || p.amount !== m.amount) {
        throw new LedgerError('ref_conflict', `ref ${m.ref} was posted with a different movement`, {
          ref: m.ref,
        })
      }
      isFresh[i] = false
      out[i] = { ref: m.ref, tenantId: m.tenantId, entryId: p.entry_id, replayed: true }
    }
  }
  const fresh = moves.filter((_, i) => isFresh[i])
  if (fresh.length === 0) return out

  await checkGuarded(tx, fresh, idOf)

  // The entries and their postings, in one statement: per tenant, the net of its fresh movements per account.
  const tenants = [...new Set(fresh.map((m) => m.tenantId))]
  const nets = netByAccount(
    fresh.flatMap((m) => [
      { account: m.from, amount: -m.amount },
      { account: m.to, amount: m.amount },
    ]),
  )
  const rows = [...nets.values()]
    .filter((n) => n.net !== 0n)
    .map((n) => ({ ...n, tenantId: n.account.tenantId }))
  const seqs = new Map<string, number>()
  await tx.query(
    `WITH entries AS (
       INSERT INTO ledger_entries (id, tenant_id, ref, memo)
       SELECT i, t, 'movements:' || i, m FROM unnest($1::uuid[], $2::text[], $3::text[]) AS u(i, t, m))
     INSERT INTO ledger_postings (entry_id, seq, tenant_id, account_id, currency, amount)
     SELECT e, s, t, a, c, m
       FROM unnest($4::uuid[], $5::int[], $6::text[], $7::bigint[], $8::text[], $9::bigint[]) AS u(e, s, t, a, c, m)`,
    [
      tenants.map((t) => entryOf.get(t)!),
      tenants,
      tenants.map((t) => memoOf(fresh.filter((m) => m.tenantId === t))),
      rows.map((r) => entryOf.get(r.tenantId)!),
      rows.map((r) => {
        const s = seqs.get(r.tenantId) ?? 0
        seqs.set(r.tenantId, s + 1)
        return s
      }),
      rows.map((r) => r.tenantId),
      rows.map((r) => idOf(r.account).toString()),
      rows.map((r) => r.account.currency),
      rows.map((r) => r.net.toString()),
    ],
  )
  moves.forEach((m, i) => {
    out[i] ??= { ref: m.ref, tenantId: m.tenantId, entryId: entryOf.get(m.tenantId)!, replayed: false }
  })
  return out
}

/**
 * Lock the guarded accounts the movements touch (one statement, account-id order), read their running balances,
 * and check the movements in input order against the running balance, as posting them one by one would.
 */
async function checkGuarded(tx: LedgerTx, fresh: Movement[], idOf: (a: Account) => bigint): Promise<void> {
  const guarded = new Map<string, bigint>()
  for (const m of fresh) {
    for (const a of [m.from, m.to]) if (GUARDED_KINDS.has(a.kind)) guarded.set(accountKey(a), idOf(a))
  }
  const balances = await lockGuarded(tx, [...guarded.values()])
  const running = new Map<string, bigint>()
  for (const [k, id] of guarded) running.set(k, balances.get(id) ?? 0n)
  for (const m of fresh) {
    const from = accountKey(m.from)
    const before = running.get(from)
    if (before !== undefined) {
      if (before < m.amount) {
        throw new LedgerError('insufficient_funds', `${m.from.kind} of ${m.from.ownerId} is too low`, {
          account: m.from,
          balance: before,
          needed: m.amount,
        })
      }
      running.set(from, before - m.amount)
    }
    const to = accountKey(m.to)
    const credited = running.get(to)
    if (credited !== undefined) running.set(to, credited + m.amount)
  }
}

/** A recorded movement by (tenant, ref), with the entry that carries it; null if there is none. */
export async function findMovement(
  q: LedgerTx,
  tenantId: string,
  ref: string,
): Promise<{ entryId: string; from: Account; to: Account; amount: bigint; memo: string } | null> {
  const r = await q.query<{
    entry_id: string
    amount: bigint
    memo: string
    fk: AccountKind
    fo: string
    tk: AccountKind
    to: string
    currency: string
  }>(
    `SELECT v.entry_id, v.amount, v.memo, f.kind AS fk, f.owner AS fo, d.kind AS tk, d.owner AS to, d.currency
       FROM ledger_movements v
       JOIN ledger_accounts f ON f.tenant_id = v.tenant_id AND f.id = v.from_account
       JOIN ledger_accounts d ON d.tenant_id = v.tenant_id AND d.id = v.to_account
      WHERE v.tenant_id = $1 AND v.ref = $2`,
    [tenantId, ref],
  )
  const row = r.rows[0]
  if (!row) return null
  return {
    entryId: row.entry_id,
    from: { tenantId, kind: row.fk, ownerId: row.fo, currency: row.currency },
    to: { tenantId, kind: row.tk, ownerId: row.to, currency: row.currency },
    amount: row.amount,
    memo: row.memo,
  }
}
