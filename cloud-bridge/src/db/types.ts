/**
 * The one database interface the bridge codes against. PostgreSQL (through `pg`) and embedded PGlite both
 * implement it, with the same value rules, so every module and every test runs unchanged on either.
 *
 * Value rules at this boundary (both directions):
 * - int8 (bigint) and numeric come back as JS `bigint`; numeric with a fraction is refused (`not_integer`).
 *   int2/int4 come back as `number`. Amounts in minor units are therefore always `bigint`.
 * - Parameters: `bigint` is sent exactly; a `number` parameter must be a safe integer or a finite non-integer
 *   (a float) — an integer above 2^53 is refused (`unsafe_integer`) because it has already lost precision.
 * - bytea comes back as a Node `Buffer` (a Uint8Array); send Uint8Array or Buffer.
 * - timestamptz comes back as `Date`; jsonb as parsed JSON; uuid and text as string.
 */

/** One row as returned by a query. */
export type Row = Record<string, unknown>

/** What a query returns. `rowCount` is the number of rows returned or changed. */
export interface QueryResult<R = Row> {
  rows: R[]
  rowCount: number
}

/**
 * The least a caller must offer to run queries: what the ledger and issuer functions accept, so any
 * `{ query }` object (a Db, a Tx, or another module's narrower interface over them) fits.
 */
export interface SqlQuery {
  query<R = Row>(text: string, params?: readonly unknown[]): Promise<{ rows: R[] }>
}

/** Anything that runs SQL with positional parameters ($1, $2 …): the database or a transaction. */
export interface Queryable {
  query<R = Row>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>>
  /** Run a script of several statements with no parameters (migrations, fixtures). */
  exec(sql: string): Promise<void>
}

/** A transaction in progress. Valid only while the callback that received it runs. */
export interface Tx extends Queryable {
  /** Run `fn` inside a savepoint: if it throws, only its work is undone and the error is rethrown. */
  savepoint<T>(fn: (tx: Tx) => Promise<T>): Promise<T>
}

/** Transaction options. */
export interface TxOptions {
  /** Default 'read committed' (the ledger's row locks are written for it). */
  isolation?: 'read committed' | 'repeatable read' | 'serializable'
  /**
   * How many times to rerun `fn` after a serialization failure or deadlock (default 3). `fn` must therefore
   * only have database effects; use the SMS outbox (not a direct send) for anything outside.
   */
  retries?: number
}

/** Which engine a Db runs on. */
export type DbKind = 'postgres' | 'pglite'

/** A database handle. */
export interface Db extends Queryable {
  readonly kind: DbKind
  /**
   * Run `fn` in a transaction: commit when it resolves, roll back when it throws. While `fn` runs, use only
   * the `tx` it was given: a query on the Db itself from inside `fn` is refused (`query_outside_tx`), because
   * on PGlite (one connection) it would wait for the transaction forever.
   */
  transaction<T>(fn: (tx: Tx) => Promise<T>, opts?: TxOptions): Promise<T>
  /** Close the connections (and, for PGlite, release the directory lock). Idempotent. */
  close(): Promise<void>
}
