/**
 * Schema migrations: the numbered SQL files of cloud-bridge/migrations run in order, all pending ones in one
 * transaction, each recorded in schema_migrations with a checksum. A transaction-scoped advisory lock makes
 * replicas that start together take turns: the second waits, then finds nothing left to do. (On PGlite,
 * one process owns the store, so the lock is uncontended.)
 *
 * Numbering: 001–099 core data layer, 1xx HTTP API, 2xx ingest and reconciliation. File names are
 * `NNN_name.sql`; an applied file must not change (its checksum is checked), add a new one instead.
 */
import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DbError } from './errors.js'
import type { Db } from './types.js'

/** The folder holding the bridge's migrations. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url))

/** Arbitrary but fixed key of the migration advisory lock ("opg" + "mig"). */
const LOCK_KEY = 0x6f70_676d_6967n

/** One migration file. */
export interface Migration {
  version: number
  name: string
  sql: string
  checksum: string
}

/** Options of `migrate`. */
export interface MigrateOptions {
  /** Folder of the SQL files (default: cloud-bridge/migrations). */
  dir?: string
  /** Apply only versions up to this one (e.g. 99: the core data layer alone). */
  upTo?: number
}

/** What `migrate` did. */
export interface MigrateResult {
  applied: string[]
  alreadyApplied: number
}

/** Read the migration files of `dir`, sorted by version; duplicate versions are an error. */
export async function loadMigrations(dir: string = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d+_[\w-]+\.sql$/.test(f))
  const out: Migration[] = []
  for (const name of files) {
    const sql = await readFile(join(dir, name), 'utf8')
    const version = Number.parseInt(name, 10)
    out.push({ version, name, sql, checksum: createHash('sha256').update(sql).digest('hex') })
  }
  out.sort((a, b) => a.version - b.version)
  for (let i = 1; i < out.length; i++) {
    if (out[i]!.version === out[i - 1]!.version) {
      throw new DbError('migration_failed', `two migrations share version ${out[i]!.version}`)
    }
  }
  return out
}

/** Bring the schema up to date. Safe to call from several processes at once. */
export async function migrate(db: Db, opts: MigrateOptions = {}): Promise<MigrateResult> {
  const migrations = (await loadMigrations(opts.dir)).filter((m) => m.version <= (opts.upTo ?? Infinity))
  return db.transaction(
    async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY])
      await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`)
      const done = await tx.query<{ version: number; name: string; checksum: string }>(
        'SELECT version, name, checksum FROM schema_migrations',
      )
      const byVersion = new Map(done.rows.map((r) => [r.version, r]))
      const applied: string[] = []
      for (const m of migrations) {
        const prior = byVersion.get(m.version)
        if (prior) {
          if (prior.checksum !== m.checksum) {
            throw new DbError('migration_changed', `migration ${m.name} changed after it was applied`)
          }
          continue
        }
        try {
          await tx.exec(m.sql)
        } catch (err) {
          throw new DbError('migration_failed', `migration ${m.name} failed`, { cause: err })
        }
        await tx.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
          m.version,
          m.name,
          m.checksum,
        ])
        applied.push(m.name)
      }
      return { applied, alreadyApplied: migrations.length - applied.length }
    },
    { retries: 0 },
  )
}
