/**
 * Reading the ledger: balances (derived from postings) and the invariant checks that tests and operators run:
 * the journal sums to zero per tenant and currency, every entry balances, no guarded account is below zero, and
 * every guarded account's running balance (what the ledger checks debits against, migration 423) equals the sum
 * of its postings.
 */
import type { SqlQuery } from '../db/types.js'
import { type Account, type AccountKind, GUARDED_KINDS } from './accounts.js'

type Reader = SqlQuery

/** The balance of one account in minor units (0 for an account never posted to). */
export async function balance(q: Reader, account: Account): Promise<bigint> {
  const r = await q.query<{ balance: bigint }>(
    `SELECT COALESCE(sum(p.amount), 0)::bigint AS balance
       FROM ledger_accounts a JOIN ledger_postings p ON p.account_id = a.id
      WHERE a.tenant_id = $1 AND a.kind = $2 AND a.owner = $3 AND a.currency = $4`,
    [account.tenantId, account.kind, account.ownerId, account.currency],
  )
  return r.rows[0]?.balance ?? 0n
}

/** An account with its balance. */
export interface AccountBalance extends Account {
  balance: bigint
}

/** Balances of a tenant's accounts, optionally of one owner and/or kind, ordered by kind, owner, currency. */
export async function balances(
  q: Reader,
  tenantId: string,
  filter: { ownerId?: string; kind?: AccountKind } = {},
): Promise<AccountBalance[]> {
  const r = await q.query<{ kind: AccountKind; owner: string; currency: string; balance: bigint }>(
    `SELECT kind, owner, currency, balance FROM ledger_balances
      WHERE tenant_id = $1 AND ($2::text IS NULL OR owner = $2) AND ($3::text IS NULL OR kind = $3)
      ORDER BY kind, owner, currency`,
    [tenantId, filter.ownerId ?? null, filter.kind ?? null],
  )
  return r.rows.map((row) => ({
    tenantId,
    kind: row.kind,
    ownerId: row.owner,
    currency: row.currency,
    balance: row.balance,
  }))
}

/** One broken ledger invariant. */
export type InvariantViolation =
  | { kind: 'journal_unbalanced'; tenantId: string; currency: string; sum: bigint }
  | { kind: 'entry_unbalanced'; tenantId: string; entryId: string; currency: string; sum: bigint }
  | { kind: 'negative_balance'; account: Account; balance: bigint }
  | { kind: 'running_balance_mismatch'; account: Account; running: bigint; balance: bigint }

/** Check the ledger's invariants (for one tenant, or all). An empty list means the ledger is sound. */
export async function checkInvariants(q: Reader, tenantId?: string): Promise<InvariantViolation[]> {
  const t = tenantId ?? null
  const out: InvariantViolation[] = []
  const journal = await q.query<{ tenant_id: string; currency: string; sum: bigint }>(
    `SELECT tenant_id, currency, sum(amount)::bigint AS sum FROM ledger_postings
      WHERE ($1::text IS NULL OR tenant_id = $1) GROUP BY tenant_id, currency HAVING sum(amount) <> 0`,
    [t],
  )
  for (const r of journal.rows) {
    out.push({ kind: 'journal_unbalanced', tenantId: r.tenant_id, currency: r.currency, sum: r.sum })
  }
  const entries = await q.query<{ tenant_id: string; entry_id: string; currency: string; sum: bigint }>(
    `SELECT tenant_id, entry_id, currency, sum(amount)::bigint AS sum FROM ledger_postings
      WHERE ($1::text IS NULL OR tenant_id = $1) GROUP BY tenant_id, entry_id, currency HAVING sum(amount) <> 0`,
    [t],
  )
  for (const r of entries.rows) {
    out.push({
      kind: 'entry_unbalanced',
      tenantId: r.tenant_id,
      entryId: r.entry_id,
      currency: r.currency,
      sum: r.sum,
    })
  }
  const negative = await q.query<{
    tenant_id: string
    kind: AccountKind
    owner: string
    currency: string
    balance: bigint
  }>(
    `SELECT tenant_id, kind, owner, currency, balance FROM ledger_balances
      WHERE ($1::text IS NULL OR tenant_id = $1) AND kind = ANY($2::text[]) AND balance < 0`,
    [t, [...GUARDED_KINDS]],
  )
  for (const r of negative.rows) {
    out.push({
      kind: 'negative_balance',
      account: { tenantId: r.tenant_id, kind: r.kind, ownerId: r.owner, currency: r.currency },
      balance: r.balance,
    })
  }
  const running = await q.query<{
    tenant_id: string
    kind: AccountKind
    owner: string
    currency: string
    running: bigint
    balance: bigint
  }>(
    `SELECT a.tenant_id, a.kind, a.owner, a.currency, a.balance AS running, s.balance
       FROM ledger_accounts a
      CROSS JOIN LATERAL (SELECT COALESCE(sum(p.amount), 0)::bigint AS balance FROM ledger_postings p
                           WHERE p.tenant_id = a.tenant_id AND p.account_id = a.id) s
      WHERE ($1::text IS NULL OR a.tenant_id = $1) AND a.guarded AND a.balance <> s.balance`,
    [t],
  )
  for (const r of running.rows) {
    out.push({
      kind: 'running_balance_mismatch',
      account: { tenantId: r.tenant_id, kind: r.kind, ownerId: r.owner, currency: r.currency },
      running: r.running,
      balance: r.balance,
    })
  }
  return out
}
