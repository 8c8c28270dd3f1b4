/**
 * `openDb(url)`: one entry point for every store the bridge supports, chosen by DATABASE_URL:
 * `postgres://…` / `postgresql://…` → PostgreSQL; `memory:` → PGlite in memory; anything else (a path, or
 * `pglite:<path>`) → PGlite in that directory.
 */
import { DbError } from './errors.js'
import { PgliteDb } from './pglite.js'
import { PostgresDb } from './postgres.js'
import type { Db } from './types.js'

/** Options for `openDb`. */
export interface OpenDbOptions {
  /** PostgreSQL pool size (default DEFAULT_POOL_SIZE, 10). */
  max?: number
  /** PostgreSQL: named prepared statements (default true; see PostgresOptions.prepare). */
  prepare?: boolean
  /** Where the embedded-store warning goes (default console.error). */
  warn?: (message: string) => void
}

/** Open (and start) the database named by `url`. Close it with `db.close()`. */
export async function openDb(url: string, opts: OpenDbOptions = {}): Promise<Db> {
  const u = url.trim()
  if (u === '') throw new DbError('bad_url', 'DATABASE_URL is empty')
  if (/^postgres(ql)?:\/\//.test(u)) {
    const db = new PostgresDb(u, {
      ...(opts.max !== undefined ? { max: opts.max } : {}),
      ...(opts.prepare !== undefined ? { prepare: opts.prepare } : {}),
    })
    try {
      await db.query('SELECT 1')
    } catch (err) {
      await db.close()
      throw err
    }
    return db
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(u) && !u.startsWith('file://')) {
    throw new DbError('bad_url', 'DATABASE_URL must be postgres://…, memory: or a directory')
  }
  const dir = u === 'memory:' ? undefined : u.replace(/^(pglite:|file:\/\/)/, '')
  if (dir === '') throw new DbError('bad_url', 'PGlite directory is empty')
  const db = new PgliteDb(dir, opts.warn ? { warn: opts.warn } : {})
  await db.start()
  return db
}
