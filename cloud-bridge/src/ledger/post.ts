/**
 * Posting journal entries. One entry = balanced postings between accounts, recorded once per (tenant, ref):
 * posting a ref again is a no-op that returns the first entry (so retried requests and redelivered MQTT
 * batches move money once).
 *
 * Guarded accounts (see GUARDED_KINDS) never go below zero. Before an entry touches one, credit or debit, the
 * account's row is locked (lockGuarded: one statement, in account-id order, so two entries never wait on each
 * other in a cycle) and its running balance read with the lock held; the postings' statement trigger then adds
 * the entry's net to that balance (migration 423). Under READ COMMITTED the locked read sees the balance left by
 * whoever held the lock before; under REPEATABLE READ / SERIALIZABLE, locking a row another transaction changed
 * fails with a serialization error, and Db.transaction reruns the whole transaction.
 */
import { isId, newUuid } from '../db/ids.js'
import type { Queryable } from '../db/types.js'
import { ACCOUNT_KINDS, type Account, type AccountKind, accountKey, GUARDED_KINDS } from './accounts.js'
import { LedgerError } from './errors.js'

/** A movement of `amount` minor units into (positive) or out of (negative) an account. */
export interface Posting {
  account: Account
  amount: bigint
}

/** What to post. */
export interface EntryInput {
  /** Idempotency reference, unique per tenant (e.g. `tx:<uuid>:confirm`). 1–200 characters. */
  ref: string
  tenantId: string
  memo?: string
  postings: Posting[]
}

/** A journal entry as recorded. `replayed` is true when the ref had already been posted. */
export interface Entry {
  id: string
  ref: string
  tenantId: string
  memo: string
  createdAt: Date
  postings: Posting[]
  replayed: boolean
}

/** What post() needs of its caller: a transaction's query function. */
export type LedgerTx = Pick<Queryable, 'query'>

const KINDS = new Set<string>(ACCOUNT_KINDS)
const CURRENCY = /^[A-Z]{3}$/

/** Refuse a malformed or unbalanced entry (shared with movements.ts). */
export function validate(input: EntryInput): void {
  if (typeof input.ref !== 'string' || input.ref.length < 1 || input.ref.length > 200) {
    throw new LedgerError('bad_posting', 'ref must be 1–200 characters')
  }
  if (!isId(input.tenantId)) throw new LedgerError('bad_posting', 'tenantId must be a 16-hex id')
  if (!Array.isArray(input.postings) || input.postings.length < 2) {
    throw new LedgerError('bad_posting', 'an entry needs at least two postings')
  }
  const sums = new Map<string, bigint>()
  for (const p of input.postings) {
    const a = p.account
    if (typeof p.amount !== 'bigint' || p.amount === 0n) {
      throw new LedgerError('bad_posting', 'amount must be a non-zero bigint (minor units)')
    }
    if (a.tenantId !== input.tenantId) throw new LedgerError('bad_posting', 'posting to another tenant')
    if (!KINDS.has(a.kind)) throw new LedgerError('bad_posting', `unknown account kind ${String(a.kind)}`)
    if (!isId(a.ownerId)) throw new LedgerError('bad_posting', 'ownerId must be a 16-hex id')
    if (!CURRENCY.test(a.currency)) throw new LedgerError('bad_posting', 'currency must be ISO 4217')
    sums.set(a.currency, (sums.get(a.currency) ?? 0n) + p.amount)
  }
  for (const [currency, sum] of sums) {
    if (sum !== 0n)
      throw new LedgerError('unbalanced', `postings sum to ${sum} ${currency}`, { currency, sum })
  }
}

/** Net amount per account key, in order of first appearance. */
export function netByAccount(postings: Posting[]): Map<string, { account: Account; net: bigint }> {
  const out = new Map<string, { account: Account; net: bigint }>()
  for (const p of postings) {
    const k = accountKey(p.account)
    const prev = out.get(k)
    if (prev) prev.net += p.amount
    else out.set(k, { account: p.account, net: p.amount })
  }
  return out
}

/** True when two posting lists move the same net amounts between the same accounts. */
export function sameMovement(a: Posting[], b: Posting[]): boolean {
  const norm = (ps: Posting[]) =>
    [...netByAccount(ps)]
      .filter(([, v]) => v.net !== 0n)
      .map(([k, v]) => `${k}=${v.net}`)
      .sort()
      .join(';')
  return norm(a) === norm(b)
}

interface PostingRow {
  seq: number
  kind: AccountKind
  owner: string
  currency: string
  amount: bigint
}

/** Read an entry and its postings by (tenant, ref). */
export async function findEntry(q: LedgerTx, tenantId: string, ref: string): Promise<Entry | null> {
  const e = await q.query<{ id: string; memo: string; created_at: Date }>(
    'SELECT id, memo, created_at FROM ledger_entries WHERE tenant_id = $1 AND ref = $2',
    [tenantId, ref],
  )
  const row = e.rows[0]
  if (!row) return null
  const p = await q.query<PostingRow>(
    `SELECT p.seq, a.kind, a.owner, a.currency, p.amount
       FROM ledger_postings p JOIN ledger_accounts a ON a.tenant_id = p.tenant_id AND a.id = p.account_id
      WHERE p.tenant_id = $2 AND p.entry_id = $1 ORDER BY p.seq`,
    [row.id, tenantId],
  )
  return {
    id: row.id,
    ref,
    tenantId,
    memo: row.memo,
    createdAt: row.created_at,
    postings: p.rows.map((r) => ({
      account: { tenantId, kind: r.kind, ownerId: r.owner, currency: r.currency },
      amount: r.amount,
    })),
    replayed: false,
  }
}

/**
 * The id of each account (of any tenant) by account key, creating missing ones. Accounts almost always exist
 * already, so they are read first and only the missing ones inserted (then read again: one of them may have
 * been created concurrently, which ON CONFLICT DO NOTHING skips).
 */
export async function accountIdsOf(tx: LedgerTx, list: Account[]): Promise<Map<string, bigint>> {
  const columns = (accounts: Account[]) => [
    accounts.map((a) => a.tenantId),
    accounts.map((a) => a.kind),
    accounts.map((a) => a.ownerId),
    accounts.map((a) => a.currency),
  ]
  const ids = new Map<string, bigint>()
  const read = async (accounts: Account[]) => {
    const r = await tx.query<{
      id: bigint
      tenant_id: string
      kind: AccountKind
      owner: string
      currency: string
    }>(
      `SELECT a.id, a.tenant_id, a.kind, a.owner, a.currency FROM ledger_accounts a
         JOIN unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(t, k, o, c)
           ON a.tenant_id = u.t AND a.kind = u.k AND a.owner = u.o AND a.currency = u.c`,
      columns(accounts),
    )
    for (const row of r.rows) {
      ids.set(
        accountKey({ tenantId: row.tenant_id, kind: row.kind, ownerId: row.owner, currency: row.currency }),
        row.id,
      )
    }
  }
  await read(list)
  const missing = list.filter((a) => !ids.has(accountKey(a)))
  if (missing.length === 0) return ids
  await tx.query(
    `INSERT INTO ledger_accounts (tenant_id, kind, owner, currency)
     SELECT t, k, o, c FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(t, k, o, c)
     ORDER BY t, k, o, c ON CONFLICT (tenant_id, kind, owner, currency) DO NOTHING`,
    columns(missing),
  )
  await read(missing)
  return ids
}

/**
 * Lock guarded accounts by id, in id order (so two transactions never wait on each other in a cycle), and read
 * their running balances (migration 423) once the locks are held. Every posting to a guarded account, credit or
 * debit, comes after this lock in its transaction, so the balance read is the account's balance until commit.
 */
export async function lockGuarded(tx: LedgerTx, ids: bigint[]): Promise<Map<bigint, bigint>> {
  if (ids.length === 0) return new Map()
  const r = await tx.query<{ id: bigint; balance: bigint }>(
    `SELECT id, balance FROM ledger_accounts WHERE id = ANY($1::bigint[]) AND guarded
      ORDER BY id FOR NO KEY UPDATE`,
    [[...new Set(ids)].map(String)],
  )
  return new Map(r.rows.map((row) => [row.id, row.balance]))
}

/**
 * Post a balanced entry inside the caller's transaction `tx`. Returns the entry; if `ref` was posted before
 * with the same movement, returns that first entry (`replayed: true`) and changes nothing.
 * Throws LedgerError: bad_posting, unbalanced, insufficient_funds (the transaction should then be rolled
 * back, or the call wrapped in tx.savepoint), ref_conflict, not_in_transaction.
 */
export async function post(tx: LedgerTx, input: EntryInput): Promise<Entry> {
  validate(input)
  const memo = input.memo ?? ''
  // A transaction-local marker: it survives to the next statement only inside a transaction, so post()
  // refuses to run on a bare pool, where its row locks would be released after every statement.
  await tx.query("SELECT set_config('opg.ledger_tx', '1', true)")
  const id = newUuid()
  const ins = await tx.query<{ id: string; created_at: Date }>(
    `INSERT INTO ledger_entries (id, tenant_id, ref, memo)
     SELECT $1, $2, $3, $4 WHERE current_setting('opg.ledger_tx', true) = '1'
     ON CONFLICT (tenant_id, ref) DO NOTHING RETURNING id, created_at`,
    [id, input.tenantId, input.ref, memo],
  )
  const created = ins.rows[0]
  if (!created) {
    const inTx = await tx.query<{ ok: boolean }>("SELECT current_setting('opg.ledger_tx', true) = '1' AS ok")
    if (!inTx.rows[0]?.ok) throw new LedgerError('not_in_transaction', 'post() must run inside a transaction')
    const prior = await findEntry(tx, input.tenantId, input.ref)
    if (!prior) throw new LedgerError('ref_conflict', 'ref is being posted concurrently; retry')
    if (!sameMovement(prior.postings, input.postings)) {
      throw new LedgerError('ref_conflict', `ref ${input.ref} was posted with different postings`, {
        ref: input.ref,
      })
    }
    return { ...prior, replayed: true }
  }

  const nets = netByAccount(input.postings)
  const ids = await accountIdsOf(
    tx,
    [...nets.values()].map((v) => v.account),
  )
  const guarded = [...nets.entries()]
    .filter(([, v]) => GUARDED_KINDS.has(v.account.kind))
    .map(([k, v]) => ({ ...v, id: ids.get(k)! }))
  const balances = await lockGuarded(
    tx,
    guarded.map((g) => g.id),
  )
  for (const g of guarded) {
    const balance = balances.get(g.id) ?? 0n
    if (balance + g.net < 0n) {
      throw new LedgerError('insufficient_funds', `${g.account.kind} of ${g.account.ownerId} is too low`, {
        account: g.account,
        balance,
        needed: -g.net,
      })
    }
  }

  await tx.query(
    `INSERT INTO ledger_postings (entry_id, seq, tenant_id, account_id, currency, amount)
     SELECT $1, s, $2, a, c, m FROM unnest($3::int[], $4::bigint[], $5::text[], $6::bigint[]) AS t(s, a, c, m)`,
    [
      created.id,
      input.tenantId,
      input.postings.map((_, i) => i),
      input.postings.map((p) => ids.get(accountKey(p.account))!.toString()),
      input.postings.map((p) => p.account.currency),
      input.postings.map((p) => p.amount.toString()),
    ],
  )
  return {
    id: created.id,
    ref: input.ref,
    tenantId: input.tenantId,
    memo,
    createdAt: created.created_at,
    postings: input.postings.map((p) => ({ account: { ...p.account }, amount: p.amount })),
    replayed: false,
  }
}

/** Move `amount` (> 0) from one account to another of the same currency: a two-posting entry. */
export async function transfer(
  tx: LedgerTx,
  move: { ref: string; tenantId: string; memo?: string; from: Account; to: Account; amount: bigint },
): Promise<Entry> {
  if (typeof move.amount !== 'bigint' || move.amount <= 0n) {
    throw new LedgerError('bad_posting', 'transfer amount must be a positive bigint')
  }
  return post(tx, {
    ref: move.ref,
    tenantId: move.tenantId,
    ...(move.memo !== undefined ? { memo: move.memo } : {}),
    postings: [
      { account: move.from, amount: -move.amount },
      { account: move.to, amount: move.amount },
    ],
  })
}
