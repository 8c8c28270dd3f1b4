/**
 * Transaction handling shared by both engines: BEGIN/COMMIT/ROLLBACK on one exclusive connection, savepoints,
 * reruns after serialization failures and deadlocks, and the guard that refuses queries on the Db from
 * inside its own transaction (on PGlite's single connection that query would wait forever; refusing it on
 * PostgreSQL too makes the mistake show up in every test run, not only on one engine).
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { DbError, isRetryable } from './errors.js'
import type { Db, DbKind, QueryResult, Row, Tx, TxOptions } from './types.js'

/** One exclusive connection, as an engine lends it for a transaction. */
export interface Conn {
  query(text: string, params?: readonly unknown[]): Promise<QueryResult<Row>>
  /** Transaction control (BEGIN, COMMIT, SAVEPOINT …). */
  exec(sql: string): Promise<void>
  /** A caller's script inside the transaction (default: as exec). */
  script?(sql: string): Promise<void>
  /** Set when ROLLBACK failed: the engine must discard this connection, not reuse it. */
  broken?: boolean
}

const ISOLATION_LEVELS: ReadonlySet<string> = new Set(['read committed', 'repeatable read', 'serializable'])

interface TxState {
  open: boolean
  savepoints: number
}

class TxHandle implements Tx {
  readonly #conn: Conn
  readonly #state: TxState
  constructor(conn: Conn, state: TxState) {
    this.#conn = conn
    this.#state = state
  }

  #check(): void {
    if (!this.#state.open)
      throw new DbError('tx_closed', 'transaction already ended; use it only inside its callback')
  }

  async query<R = Row>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
    this.#check()
    return (await this.#conn.query(text, params)) as QueryResult<R>
  }

  async exec(sql: string): Promise<void> {
    this.#check()
    await (this.#conn.script ?? this.#conn.exec)(sql)
  }

  async savepoint<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    this.#check()
    const name = `sp_${++this.#state.savepoints}`
    await this.#conn.exec(`SAVEPOINT ${name}`)
    try {
      const result = await fn(this)
      await this.#conn.exec(`RELEASE SAVEPOINT ${name}`)
      return result
    } catch (err) {
      await this.#conn.exec(`ROLLBACK TO SAVEPOINT ${name}`)
      throw err
    }
  }
}

/** The engine-independent part of a Db. */
export abstract class BaseDb implements Db {
  abstract readonly kind: DbKind
  readonly #inTx = new AsyncLocalStorage<TxState>()
  protected closed = false

  /** Run one statement outside any transaction. */
  protected abstract runQuery(text: string, params?: readonly unknown[]): Promise<QueryResult<Row>>
  /** Run a script outside any transaction. */
  protected abstract runExec(sql: string): Promise<void>
  /** Lend `fn` one connection that nobody else uses until it settles. */
  protected abstract withConnection<T>(fn: (conn: Conn) => Promise<T>): Promise<T>
  abstract close(): Promise<void>

  #assertUsable(): void {
    if (this.closed) throw new DbError('closed', 'database handle is closed')
    if (this.#inTx.getStore()?.open) {
      throw new DbError(
        'query_outside_tx',
        'query on the Db from inside its transaction; use the tx argument',
      )
    }
  }

  async query<R = Row>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
    this.#assertUsable()
    return (await this.runQuery(text, params)) as QueryResult<R>
  }

  async exec(sql: string): Promise<void> {
    this.#assertUsable()
    await this.runExec(sql)
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>, opts: TxOptions = {}): Promise<T> {
    this.#assertUsable()
    const retries = opts.retries ?? 3
    const isolation = opts.isolation ?? 'read committed'
    if (!ISOLATION_LEVELS.has(isolation)) throw new TypeError(`unknown isolation level ${String(isolation)}`)
    const begin = `BEGIN ISOLATION LEVEL ${isolation.toUpperCase()}`
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.withConnection((conn) => this.#runTx(conn, begin, fn))
      } catch (err) {
        if (attempt < retries && isRetryable(err)) continue
        throw err
      }
    }
  }

  async #runTx<T>(conn: Conn, begin: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
    const state: TxState = { open: true, savepoints: 0 }
    await conn.exec(begin)
    try {
      const result = await this.#inTx.run(state, () => fn(new TxHandle(conn, state)))
      state.open = false
      await conn.exec('COMMIT')
      return result
    } catch (err) {
      state.open = false
      try {
        await conn.exec('ROLLBACK')
      } catch {
        // The original error is what matters; the engine discards the connection.
        conn.broken = true
      }
      throw err
    }
  }
}
