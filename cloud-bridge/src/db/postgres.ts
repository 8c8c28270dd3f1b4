/**
 * The PostgreSQL engine: a `pg` Pool with this module's own type parsers (set per pool, not on pg's global
 * registry, so nothing else in the process is affected).
 */
import pg from 'pg'
import { BaseDb, type Conn } from './base.js'
import type { QueryResult, Row } from './types.js'
import { OID, parseInt8, parseIntArray, parseNumeric, toParams } from './values.js'

/** Options of the PostgreSQL engine. */
export interface PostgresOptions {
  /** Pool size (default 10). */
  max?: number
  /** Application name shown in pg_stat_activity. */
  applicationName?: string
}

const TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    switch (oid) {
      case OID.int8:
        return parseInt8
      case OID.numeric:
        return parseNumeric
      case OID.int8Array:
        return (text: string) => parseIntArray(text, parseInt8)
      case OID.numericArray:
        return (text: string) => parseIntArray(text, parseNumeric)
      default:
        return pg.types.getTypeParser(oid, format ?? 'text') as (value: string) => unknown
    }
  },
}

const toResult = (r: pg.QueryResult): QueryResult<Row> => ({
  rows: r.rows as Row[],
  rowCount: r.rowCount ?? 0,
})

/** A Db on a PostgreSQL server. Create with `openDb`. */
export class PostgresDb extends BaseDb {
  readonly kind = 'postgres' as const
  readonly #pool: pg.Pool

  constructor(url: string, opts: PostgresOptions = {}) {
    super()
    this.#pool = new pg.Pool({
      connectionString: url,
      max: opts.max ?? 10,
      application_name: opts.applicationName ?? 'opg-bridge',
      types: TYPES,
    })
    // An idle client that loses its server emits 'error' on the pool; without a listener Node would crash.
    // The pool already drops that client, and the next query reports the problem to its caller.
    this.#pool.on('error', () => {})
  }

  protected async runQuery(text: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    return toResult(await this.#pool.query(text, toParams(params)))
  }

  protected async runExec(sql: string): Promise<void> {
    await this.#pool.query(sql)
  }

  protected async withConnection<T>(fn: (conn: Conn) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect()
    const conn: Conn = {
      query: async (text, params) => toResult(await client.query(text, toParams(params))),
      exec: async (sql) => {
        await client.query(sql)
      },
    }
    try {
      return await fn(conn)
    } finally {
      client.release(conn.broken ? true : undefined)
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.#pool.end()
  }
}
