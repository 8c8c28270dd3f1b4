/**
 * The embedded engine: PGlite (PostgreSQL compiled to WebAssembly, in-process). The same SQL as the server,
 * for trials, demos, tests and single-machine use. It does not fsync and takes no lock of its own, so a data
 * directory gets our pid-checked lockfile and opening one prints a warning.
 *
 * The directory holds phone numbers and key hashes (tables and WAL), and PGlite creates its files 0666 in 0755
 * folders (it sets modes itself, so a umask alone does not help): the process umask is tightened to 077, the
 * directory is made (or tightened to) 0700 before PGlite opens it, and whatever PGlite wrote is tightened to the
 * owner after it opened and again when it closes.
 */
import { chmod, lstat, mkdir, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { BaseDb, type Conn } from './base.js'
import { acquireLock, type HeldLock } from './lockfile.js'
import type { QueryResult, Row } from './types.js'
import { OID, parseBytea, parseInt8, parseIntArray, parseNumeric, toParams } from './values.js'

/** The warning printed when a PGlite data directory is opened. */
export const EMBEDDED_WARNING =
  'opg: using the embedded PGlite store. It does not fsync and suits trials and single-machine use, ' +
  'not production money: set DATABASE_URL=postgres://… for that.'

const PARSERS = {
  [OID.int8]: parseInt8,
  [OID.numeric]: parseNumeric,
  [OID.bytea]: parseBytea,
  [OID.int8Array]: (t: string) => parseIntArray(t, parseInt8),
  [OID.numericArray]: (t: string) => parseIntArray(t, parseNumeric),
}

/** Options of the embedded engine. */
export interface PgliteOptions {
  /** Where the warning goes (default: console.error). */
  warn?: (message: string) => void
}

/** A Db on PGlite, in memory (`dataDir` undefined) or in a directory. Create with `openDb`. */
export class PgliteDb extends BaseDb {
  readonly kind = 'pglite' as const
  readonly #dataDir: string | undefined
  readonly #warn: (message: string) => void
  #pg: PGlite | undefined
  #lock: HeldLock | undefined
  /** Tail of the queue: PGlite is one connection, so transactions and queries take turns. */
  #turn: Promise<unknown> = Promise.resolve()

  constructor(dataDir: string | undefined, opts: PgliteOptions = {}) {
    super()
    this.#dataDir = dataDir
    this.#warn = opts.warn ?? ((m) => console.error(m))
  }

  /** Take the directory lock and start PGlite. */
  async start(): Promise<void> {
    // Tighter for everything PGlite creates from here on (process-wide; it never loosens what was set).
    if (this.#dataDir !== undefined) {
      process.umask(process.umask(0o077) | 0o077)
      await mkdir(this.#dataDir, { recursive: true, mode: 0o700 })
      await ownerOnly(this.#dataDir)
      this.#lock = await acquireLock(`${this.#dataDir.replace(/\/+$/, '')}.lock`)
      this.#warn(EMBEDDED_WARNING)
    }
    try {
      this.#pg = await PGlite.create({
        ...(this.#dataDir ? { dataDir: this.#dataDir } : {}),
        parsers: PARSERS,
      })
      if (this.#dataDir !== undefined) await ownerOnly(this.#dataDir)
    } catch (err) {
      await this.#lock?.release()
      throw err
    }
  }

  #engine(): PGlite {
    if (!this.#pg) throw new Error('PgliteDb used before start()')
    return this.#pg
  }

  /** Run `fn` when every earlier query and transaction on this handle has settled. */
  #inTurn<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#turn.then(fn, fn)
    this.#turn = run.catch(() => {})
    return run
  }

  #conn(): Conn {
    const pg = this.#engine()
    return {
      query: async (text, params) => {
        const r = await pg.query<Row>(text, toParams(params))
        return { rows: r.rows, rowCount: r.rowCount ?? r.affectedRows ?? r.rows.length }
      },
      exec: async (sql) => {
        await pg.exec(sql)
      },
    }
  }

  protected runQuery(text: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    return this.#inTurn(() => this.#conn().query(text, params))
  }

  protected runExec(sql: string): Promise<void> {
    return this.#inTurn(() => this.#conn().exec(sql))
  }

  protected withConnection<T>(fn: (conn: Conn) => Promise<T>): Promise<T> {
    return this.#inTurn(() => fn(this.#conn()))
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.#turn
    await this.#pg?.close()
    if (this.#dataDir !== undefined) await ownerOnly(this.#dataDir).catch(() => {})
    await this.#lock?.release()
  }
}

/** Remove group and other permissions from `path` and everything under it (symlinks are left alone). */
async function ownerOnly(path: string): Promise<void> {
  const st = await lstat(path)
  if (st.isSymbolicLink()) return
  if ((st.mode & 0o077) !== 0) await chmod(path, st.mode & 0o700)
  if (st.isDirectory()) for (const name of await readdir(path)) await ownerOnly(join(path, name))
}
