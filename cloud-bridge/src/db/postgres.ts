/**
 * The PostgreSQL engine: a `pg` Pool with this module's own type parsers (set per pool, not on pg's global
 * registry, so nothing else in the process is affected), running data statements as named prepared statements.
 */
import pg from 'pg'
import { BaseDb, type Conn } from './base.js'
import { arrayCasts, encodeArray } from './binary-arrays.js'
import { isStalePlan } from './errors.js'
import type { QueryResult, Row } from './types.js'
import { OID, parseInt8, parseIntArray, parseNumeric, toParam } from './values.js'

/** Options of the PostgreSQL engine. */
export interface PostgresOptions {
  /** Pool size (default DEFAULT_POOL_SIZE). */
  max?: number
  /** Application name shown in pg_stat_activity. */
  applicationName?: string
  /**
   * Run data statements as named prepared statements (default true). Turn off behind a connection pooler that
   * cannot carry them (PgBouncer in transaction mode before 1.21, or without max_prepared_statements).
   */
  prepare?: boolean
}

/** Connections in a Db's pool unless PostgresOptions.max says otherwise. */
export const DEFAULT_POOL_SIZE = 10

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

/** Data statements: the ones worth preparing, and the only ones whose plans a schema change can break. */
const DATA_STATEMENT = /^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|VALUES)\b/i
/** Distinct statements named per Db; past it, new texts run unnamed (a bound on each connection's plans). */
const MAX_NAMED = 1000

/**
 * Names for prepared statements. With an unnamed statement the server parses, analyses and plans every
 * execution; a named one is parsed once per connection, and its plan is reused once the server finds a generic
 * plan as good as the custom ones (on the ingest path that was about a fifth of PostgreSQL's CPU per payment;
 * docs/BENCHMARKS.md). A prepared `SELECT *` whose table has changed shape fails ('cached plan must not change
 * result type'), so every other statement this Db runs (DDL, scripts: migrations, fixtures) starts a new
 * generation of names, and that failure from a change made elsewhere (another process migrating) starts one
 * too and is retried as a serialization failure is: the transaction reruns on freshly prepared statements.
 * An older generation's statements are deallocated on each connection the next time the pool lends it.
 */
class StatementNames {
  #names = new Map<string, string>()
  #generation = 0

  /** The generation whose names nameOf hands out now. */
  get generation(): number {
    return this.#generation
  }

  /** The name to prepare `text` under, or undefined to run it unnamed. */
  nameOf(text: string): string | undefined {
    const known = this.#names.get(text)
    if (known) return known
    if (!DATA_STATEMENT.test(text)) {
      this.reset()
      return undefined
    }
    if (this.#names.size >= MAX_NAMED) return undefined
    const name = `opg_${this.#generation}_${this.#names.size}`
    this.#names.set(text, name)
    return name
  }

  reset(): void {
    this.#generation++
    this.#names.clear()
  }
}

/** Each statement text's array casts (binary-arrays.ts), found once; as bounded as the statement names. */
class ArrayCasts {
  #byText = new Map<string, (string | undefined)[] | null>()

  of(text: string): (string | undefined)[] | null {
    let casts = this.#byText.get(text)
    if (casts === undefined) {
      casts = arrayCasts(text)
      if (this.#byText.size >= MAX_NAMED) this.#byText.clear()
      this.#byText.set(text, casts)
    }
    return casts
  }
}

/** The generation a statement name (`opg_<generation>_<n>`) belongs to. */
const generationOf = (name: string): number => Number(name.split('_')[1])

/**
 * The statements each connection has prepared, by generation, so that those of a past generation are
 * deallocated instead of holding their plans in the server's memory for the connection's lifetime. Only a
 * statement that ran without error is recorded: one whose Parse failed does not exist to deallocate.
 */
class PreparedOn {
  #byClient = new WeakMap<pg.PoolClient, Map<number, Set<string>>>()

  record(client: pg.PoolClient, name: string): void {
    let gens = this.#byClient.get(client)
    if (!gens) {
      gens = new Map()
      this.#byClient.set(client, gens)
    }
    const generation = generationOf(name)
    const names = gens.get(generation)
    if (names) names.add(name)
    else gens.set(generation, new Set([name]))
  }

  /** Forget and return the names `client` prepared in generations before `current`. */
  takeOlder(client: pg.PoolClient, current: number): string[] {
    const gens = this.#byClient.get(client)
    if (!gens) return []
    const old: string[] = []
    for (const [generation, names] of gens) {
      if (generation >= current) continue
      old.push(...names)
      gens.delete(generation)
    }
    return old
  }
}

const toResult = (r: pg.QueryResult): QueryResult<Row> => ({
  rows: r.rows as Row[],
  rowCount: r.rowCount ?? 0,
})

/** A Db on a PostgreSQL server. Create with `openDb`. */
export class PostgresDb extends BaseDb {
  readonly kind = 'postgres' as const
  readonly #pool: pg.Pool
  readonly #names: StatementNames | null
  readonly #prepared = new PreparedOn()
  readonly #heard = new WeakSet<pg.PoolClient>()
  readonly #casts = new ArrayCasts()

  constructor(url: string, opts: PostgresOptions = {}) {
    super()
    this.#pool = new pg.Pool({
      connectionString: url,
      max: opts.max ?? DEFAULT_POOL_SIZE,
      application_name: opts.applicationName ?? 'opg-bridge',
      types: TYPES,
    })
    // An idle client that loses its server emits 'error' on the pool; without a listener Node would crash.
    // The pool already drops that client, and the next query reports the problem to its caller.
    this.#pool.on('error', () => {})
    this.#names = opts.prepare === false ? null : new StatementNames()
  }

  /** A query config: named when it is a data statement (see StatementNames), array parameters in binary. */
  #config(text: string, params: readonly unknown[] | undefined): pg.QueryConfig {
    const casts = this.#casts.of(text)
    const values = (params ?? []).map((p, i) => {
      const type = casts?.[i]
      return (type !== undefined && Array.isArray(p) && encodeArray(type, p)) || toParam(p)
    })
    const name = this.#names?.nameOf(text)
    return name ? { name, text, values } : { text, values }
  }

  /** Run one statement; a stale prepared plan starts a new generation of names and is rethrown. */
  async #run(client: pg.PoolClient, text: string, params?: readonly unknown[]) {
    const config = this.#config(text, params)
    try {
      const result = toResult(await client.query(config))
      if (config.name) this.#prepared.record(client, config.name)
      return result
    } catch (err) {
      if (isStalePlan(err)) this.#names?.reset()
      throw err
    }
  }

  /**
   * A connection from the pool, rid of the statements it prepared in past generations. A connection the server
   * drops while it is lent (a restart, a failover, a terminated backend) fails its query and also emits
   * 'error'; pg-pool listens only while the connection is idle, and an 'error' with no listener would end the
   * process. The listener added here leaves the error to the query's caller; the pool discards the connection.
   */
  async #lend(): Promise<pg.PoolClient> {
    const client = await this.#pool.connect()
    if (!this.#heard.has(client)) {
      client.on('error', () => {})
      this.#heard.add(client)
    }
    const old = this.#names ? this.#prepared.takeOlder(client, this.#names.generation) : []
    if (old.length === 0) return client
    try {
      await client.query(old.map((name) => `DEALLOCATE ${name}`).join('; '))
      return client
    } catch (err) {
      client.release(true)
      throw err
    }
  }

  /**
   * Run one statement on a connection of its own. After an ERROR the server sent, the connection is as good
   * as before (outside a transaction nothing is left open) and goes back to the pool with its statements;
   * after a FATAL one (the server is closing it) or any other failure it is discarded.
   */
  async #runAlone(text: string, params?: readonly unknown[]) {
    const client = await this.#lend()
    try {
      const result = await this.#run(client, text, params)
      client.release()
      return result
    } catch (err) {
      client.release(err instanceof pg.DatabaseError && err.severity === 'ERROR' ? undefined : true)
      throw err
    }
  }

  protected async runQuery(text: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    try {
      return await this.#runAlone(text, params)
    } catch (err) {
      // Outside a transaction nothing else ran: once more, freshly prepared.
      if (isStalePlan(err)) return this.#runAlone(text, params)
      throw err
    }
  }

  protected async runExec(sql: string): Promise<void> {
    this.#names?.reset()
    await this.#pool.query(sql)
  }

  protected async withConnection<T>(fn: (conn: Conn) => Promise<T>): Promise<T> {
    const client = await this.#lend()
    const conn: Conn = {
      query: (text, params) => this.#run(client, text, params),
      exec: async (sql) => {
        await client.query(sql)
      },
      script: async (sql) => {
        this.#names?.reset()
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
