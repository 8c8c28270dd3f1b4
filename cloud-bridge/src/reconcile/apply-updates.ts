/**
 * The payment-row updates of a plan, set-based: every `mark_seen` of one side in one UPDATE, and every
 * `transition` with the same set of columns in one UPDATE … FROM unnest(…) — a fixed number of statements
 * however many payments a batch, a payer upload or a sweep touches. Each transition still only applies to a
 * row in its `from` state, and the statement returns the rows it changed: any row missing means the plan was
 * made on stale records, and the caller's transaction is aborted (ExecutorError).
 */
import type { Queryable } from './ports.js'
import type { Step } from './types.js'

type MarkSeen = Extract<Step, { type: 'mark_seen' }>
type Transition = Extract<Step, { type: 'transition' }>

const ts = (v: number | null | undefined): Date | null => (v === null || v === undefined ? null : new Date(v))

/** Set merchant_seen_at / payer_seen_at (kept if already set): one statement per side. */
export async function applyMarkSeen(tx: Queryable, steps: MarkSeen[]): Promise<void> {
  for (const side of ['merchant', 'payer'] as const) {
    const list = steps.filter((s) => s.side === side)
    if (list.length === 0) continue
    const col = side === 'merchant' ? 'merchant_seen_at' : 'payer_seen_at'
    await tx.query(
      `UPDATE offline_payments o SET ${col} = coalesce(o.${col}, u.at), updated_at = u.at
         FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS u(x, t, at)
        WHERE o.tenant_id = u.t AND o.tx_id = u.x`,
      [list.map((s) => s.txId), list.map((s) => s.tenantId), list.map((s) => ts(s.at))],
    )
  }
}

/** Optional columns a transition may set: column, SQL type, value (undefined = leave the column alone). */
const OPTIONAL: [string, string, (s: Transition) => unknown][] = [
  ['hold_until', 'timestamptz', (s) => (s.holdUntil === undefined ? undefined : ts(s.holdUntil))],
  ['settled_at', 'timestamptz', (s) => (s.settledAt === undefined ? undefined : ts(s.settledAt))],
  ['claim_until', 'timestamptz', (s) => (s.claimUntil === undefined ? undefined : ts(s.claimUntil))],
  // Who claimed, why, and who decided are kept once, in the claims table (src/claims), not on the payment.
]

/** Thrown when a transition finds its payment no longer in its `from` state. */
export type StaleError = (message: string) => Error

/** Apply state transitions: one UPDATE per distinct set of columns, each row guarded by its `from` state. */
export async function applyTransitions(tx: Queryable, steps: Transition[], stale: StaleError): Promise<void> {
  const groups = new Map<string, Transition[]>()
  for (const s of steps) {
    const mask = OPTIONAL.map(([, , get]) => (get(s) === undefined ? '0' : '1')).join('')
    groups.set(mask, [...(groups.get(mask) ?? []), s])
  }
  for (const [mask, list] of groups) {
    const cols = OPTIONAL.filter((_, i) => mask[i] === '1')
    const params: unknown[] = [
      list.map((s) => s.txId),
      list.map((s) => s.tenantId),
      list.map((s) => s.from),
      list.map((s) => s.to),
      list.map((s) => ts(s.at)),
      ...cols.map(([, , get]) => list.map(get)),
    ]
    const types = ['text', 'text', 'text', 'text', 'timestamptz', ...cols.map(([, type]) => type)]
    const names = ['x', 't', 'f', 's', 'at', ...cols.map(([name]) => name)]
    const { rows } = await tx.query<{ tx_id: string }>(
      `UPDATE offline_payments o SET state = u.s, updated_at = u.at${cols.map(([c]) => `, ${c} = u.${c}`).join('')}
         FROM unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')}) AS u(${names.join(', ')})
        WHERE o.tx_id = u.x AND o.tenant_id = u.t AND o.state = u.f
       RETURNING o.tx_id`,
      params,
    )
    const changed = new Set(rows.map((r) => r.tx_id))
    const missing = list.find((s) => !changed.has(s.txId))
    if (missing || changed.size !== list.length)
      throw stale(`payment ${missing?.txId ?? list[0]!.txId} is no longer ${missing?.from ?? list[0]!.from}`)
  }
}
