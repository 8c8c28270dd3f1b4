/**
 * Errors of the data layer. Callers switch on `code`; the driver's own error (with its SQLSTATE) is kept
 * as `cause`.
 */

/** Stable codes of data-layer errors. */
export type DbErrorCode =
  | 'bad_url'
  | 'store_locked'
  | 'unsafe_integer'
  | 'not_integer'
  | 'tx_closed'
  | 'query_outside_tx'
  | 'migration_failed'
  | 'migration_changed'
  | 'closed'

/** An error raised by the data layer itself (not a SQL error passed through). */
export class DbError extends Error {
  override readonly name = 'DbError'
  readonly code: DbErrorCode
  constructor(code: DbErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/** True when `err` is a DbError, optionally with the given code. */
export function isDbError(err: unknown, code?: DbErrorCode): err is DbError {
  return err instanceof DbError && (code === undefined || err.code === code)
}

/**
 * The SQLSTATE of a database error, from either driver (both surface the server's `code`), or undefined.
 * Walks `cause` so wrapped errors still answer.
 */
export function sqlState(err: unknown): string | undefined {
  let e: unknown = err
  for (let depth = 0; depth < 5 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

/** True for a unique-constraint violation (SQLSTATE 23505). */
export function isUniqueViolation(err: unknown): boolean {
  return sqlState(err) === '23505'
}

/** SQLSTATE 0A000 with this message: a prepared statement met a table that has changed shape since. */
export function isStalePlan(err: unknown): boolean {
  return (
    sqlState(err) === '0A000' &&
    /cached plan must not change result type/.test(err instanceof Error ? err.message : '')
  )
}

/**
 * True for errors that a retry of the whole transaction can cure: serialization failure, deadlock, and a
 * prepared statement's stale plan (the rerun prepares it afresh; postgres.ts).
 */
export function isRetryable(err: unknown): boolean {
  const s = sqlState(err)
  return s === '40001' || s === '40P01' || isStalePlan(err)
}
