/**
 * Posting many journal entries at once: the same contract as calling post() for each entry in order, in a
 * fixed number of SQL statements however many entries there are (for a batch of offline payments: one entry
 * per payment movement, each under its own ref, in 7 statements instead of ~8 per entry).
 *
 * Same guarantees as post(): every entry is validated and balanced; each (tenant, ref) is recorded once (a
 * ref posted before with the same movement is a replay, with different postings a ref_conflict); guarded
 * accounts the entries lower are locked by an UPDATE in account-id order (one statement) and their balances
 * summed after the lock is held; the entries are then checked in input order against the running balance, so
 * an entry that would take a guarded account below zero is refused exactly where sequential posting would
 * refuse it. On any error the caller's transaction must be rolled back (or the call wrapped in a savepoint).
 */
import { newUuid } from '../db/ids.js'
import { type Account, type AccountKind, accountKey, GUARDED_KINDS } from './accounts.js'
import { LedgerError } from './errors.js'
import {
  type Entry,
  type EntryInput,
  type LedgerTx,
  netByAccount,
  type Posting,
  sameMovement,
  validate,
} from './post.js'

const refKey = (tenantId: string, ref: string) => `${tenantId}\n${ref}`

/**
 * The id of each account (of any tenant) by account key, creating missing ones. Accounts almost always exist
 * already, so they are read first and only the missing ones inserted (then read again: one of them may have
 * been created concurrently, which ON CONFLICT DO NOTHING skips).
 */
async function accountIdsOf(tx: LedgerTx, list: Account[]): Promise<Map<string, bigint>> {
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
      const k = accountKey({
        tenantId: row.tenant_id,
        kind: row.kind,
        ownerId: row.owner,
        currency: row.currency,
      })
      ids.set(k, row.id)
    }
  }
  const columns = (accounts: Account[]) => [
    accounts.map((a) => a.tenantId),
    accounts.map((a) => a.kind),
    accounts.map((a) => a.ownerId),
    accounts.map((a) => a.currency),
  ]
  const ids = new Map<string, bigint>()
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

/** Entries already recorded under these (tenant, ref) pairs, with their postings, by refKey. */
async function priorEntries(
  tx: LedgerTx,
  keys: { tenantId: string; ref: string }[],
): Promise<Map<string, Entry>> {
  const r = await tx.query<{
    id: string
    tenant_id: string
    ref: string
    memo: string
    created_at: Date
    kind: AccountKind | null
    owner: string | null
    currency: string | null
    amount: bigint | null
  }>(
    `SELECT e.id, e.tenant_id, e.ref, e.memo, e.created_at, a.kind, a.owner, a.currency, p.amount
       FROM ledger_entries e
       JOIN unnest($1::text[], $2::text[]) AS u(t, r) ON e.tenant_id = u.t AND e.ref = u.r
       LEFT JOIN ledger_postings p ON p.tenant_id = e.tenant_id AND p.entry_id = e.id
       LEFT JOIN ledger_accounts a ON a.tenant_id = p.tenant_id AND a.id = p.account_id
      ORDER BY e.id, p.seq`,
    [keys.map((k) => k.tenantId), keys.map((k) => k.ref)],
  )
  const out = new Map<string, Entry>()
  for (const row of r.rows) {
    const k = refKey(row.tenant_id, row.ref)
    let e = out.get(k)
    if (!e) {
      e = {
        id: row.id,
        ref: row.ref,
        tenantId: row.tenant_id,
        memo: row.memo,
        createdAt: row.created_at,
        postings: [],
        replayed: true,
      }
      out.set(k, e)
    }
    if (row.kind !== null && row.amount !== null) {
      e.postings.push({
        account: { tenantId: row.tenant_id, kind: row.kind, ownerId: row.owner!, currency: row.currency! },
        amount: row.amount,
      })
    }
  }
  return out
}

/**
 * Post several balanced entries inside the caller's transaction `tx`, as if by post() for each in order.
 * Returns one Entry per input, in order (`replayed: true` for a ref posted before with the same movement).
 * Refs must be distinct within one call. Throws LedgerError like post(): bad_posting, unbalanced,
 * insufficient_funds, ref_conflict, not_in_transaction.
 */
export async function postMany(tx: LedgerTx, inputs: EntryInput[]): Promise<Entry[]> {
  if (inputs.length === 0) return []
  const seen = new Set<string>()
  for (const input of inputs) {
    validate(input)
    const k = refKey(input.tenantId, input.ref)
    if (seen.has(k)) throw new LedgerError('bad_posting', `ref ${input.ref} appears twice in one call`)
    seen.add(k)
  }
  // The same transaction-local marker as post(): outside a transaction it is gone by the next statement.
  await tx.query("SELECT set_config('opg.ledger_tx', '1', true)")
  // Entries are inserted in (tenant, ref) order so two concurrent calls never wait on each other in a cycle.
  const order = inputs
    .map((input, i) => ({ input, i, id: newUuid() }))
    .sort((a, b) => {
      const x = refKey(a.input.tenantId, a.input.ref)
      const y = refKey(b.input.tenantId, b.input.ref)
      return x < y ? -1 : x > y ? 1 : 0
    })
  const ins = await tx.query<{ id: string; created_at: Date }>(
    `INSERT INTO ledger_entries (id, tenant_id, ref, memo)
     SELECT i, t, r, m FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS u(i, t, r, m, n)
      WHERE current_setting('opg.ledger_tx', true) = '1'
      ORDER BY n
     ON CONFLICT (tenant_id, ref) DO NOTHING RETURNING id, created_at`,
    [
      order.map((o) => o.id),
      order.map((o) => o.input.tenantId),
      order.map((o) => o.input.ref),
      order.map((o) => o.input.memo ?? ''),
    ],
  )
  const createdAt = new Map(ins.rows.map((r) => [r.id, r.created_at]))
  if (createdAt.size === 0) {
    const inTx = await tx.query<{ ok: boolean }>("SELECT current_setting('opg.ledger_tx', true) = '1' AS ok")
    if (!inTx.rows[0]?.ok)
      throw new LedgerError('not_in_transaction', 'postMany() must run inside a transaction')
  }
  const out: Entry[] = new Array(inputs.length)
  const fresh = order.filter((o) => createdAt.has(o.id)).sort((a, b) => a.i - b.i)

  // Refs posted before: each must be the same movement (a replay), as post() requires.
  const replays = order.filter((o) => !createdAt.has(o.id))
  if (replays.length > 0) {
    const prior = await priorEntries(
      tx,
      replays.map((o) => ({ tenantId: o.input.tenantId, ref: o.input.ref })),
    )
    for (const o of replays) {
      const p = prior.get(refKey(o.input.tenantId, o.input.ref))
      if (!p) throw new LedgerError('ref_conflict', 'ref is being posted concurrently; retry')
      if (!sameMovement(p.postings, o.input.postings)) {
        throw new LedgerError('ref_conflict', `ref ${o.input.ref} was posted with different postings`, {
          ref: o.input.ref,
        })
      }
      out[o.i] = p
    }
  }
  if (fresh.length === 0) return out

  const nets = fresh.map((o) => netByAccount(o.input.postings))
  const accounts = new Map<string, Account>()
  for (const n of nets) for (const [k, v] of n) accounts.set(k, v.account)
  const ids = await accountIdsOf(tx, [...accounts.values()])

  // Guarded accounts any new entry lowers: lock them all in id order (one statement), then sum balances.
  const guarded = new Map<string, bigint>()
  for (const n of nets)
    for (const [k, v] of n) if (v.net < 0n && GUARDED_KINDS.has(v.account.kind)) guarded.set(k, ids.get(k)!)
  const running = new Map<string, bigint>()
  if (guarded.size > 0) {
    const gids = [...new Set(guarded.values())].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(String)
    await tx.query(
      `UPDATE ledger_accounts SET lock_version = lock_version + 1
        WHERE id IN (SELECT id FROM ledger_accounts WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE)`,
      [gids],
    )
    const bal = await tx.query<{ account_id: bigint; balance: bigint }>(
      `SELECT account_id, sum(amount)::bigint AS balance FROM ledger_postings
        WHERE account_id = ANY($1::bigint[]) GROUP BY account_id`,
      [gids],
    )
    const byId = new Map(bal.rows.map((r) => [r.account_id, r.balance]))
    for (const [k, id] of guarded) running.set(k, byId.get(id) ?? 0n)
    // Check in input order against the running balance, as sequential post() calls would.
    for (const n of nets) {
      for (const [k, v] of n) {
        const before = running.get(k)
        if (before === undefined) continue
        if (v.net < 0n && before + v.net < 0n) {
          throw new LedgerError(
            'insufficient_funds',
            `${v.account.kind} of ${v.account.ownerId} is too low`,
            {
              account: v.account,
              balance: before,
              needed: -v.net,
            },
          )
        }
        running.set(k, before + v.net)
      }
    }
  }

  const rows = fresh.flatMap((o) => o.input.postings.map((p, seq) => ({ id: o.id, seq, p })))
  await tx.query(
    `INSERT INTO ledger_postings (entry_id, seq, tenant_id, account_id, currency, amount)
     SELECT e, s, t, a, c, m
       FROM unnest($1::uuid[], $2::int[], $3::text[], $4::bigint[], $5::text[], $6::bigint[]) AS u(e, s, t, a, c, m)`,
    [
      rows.map((r) => r.id),
      rows.map((r) => r.seq),
      rows.map((r) => r.p.account.tenantId),
      rows.map((r) => ids.get(accountKey(r.p.account))!.toString()),
      rows.map((r) => r.p.account.currency),
      rows.map((r) => r.p.amount.toString()),
    ],
  )
  for (const o of fresh) {
    out[o.i] = {
      id: o.id,
      ref: o.input.ref,
      tenantId: o.input.tenantId,
      memo: o.input.memo ?? '',
      createdAt: createdAt.get(o.id)!,
      postings: o.input.postings.map((p: Posting) => ({ account: { ...p.account }, amount: p.amount })),
      replayed: false,
    }
  }
  return out
}
