/**
 * A check that code which relies on row locks or multi-statement atomicity really runs inside a
 * transaction: a transaction-local setting survives to the next statement only inside one (on a bare pool
 * the next statement may even run on another connection).
 */
import { randomBytes } from 'node:crypto'
import type { SqlQuery } from './types.js'

/** True when `q` is a transaction (two round trips). */
export async function inTransaction(q: SqlQuery): Promise<boolean> {
  const nonce = randomBytes(8).toString('hex')
  await q.query("SELECT set_config('opg.in_tx', $1, true)", [nonce])
  const r = await q.query<{ ok: boolean }>("SELECT current_setting('opg.in_tx', true) = $1 AS ok", [nonce])
  return r.rows[0]?.ok === true
}
