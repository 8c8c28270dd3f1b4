/**
 * Shared test helpers: run one suite on both engines the bridge supports — embedded PGlite (in memory) and
 * real PostgreSQL (a uniquely named database per run, dropped afterwards) — so every module's SQL is proven
 * on both. PostgreSQL is found at OPG_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres).
 * Where it is unreachable the PostgreSQL half is skipped with a notice, except under CI (CI=true), where
 * that is a failure.
 */
import { randomBytes } from 'node:crypto'
import type { Test } from 'tap'
import { newId } from '../../src/db/ids.js'
import { type MigrateOptions, migrate } from '../../src/db/migrate.js'
import { openDb } from '../../src/db/open.js'
import { PostgresDb } from '../../src/db/postgres.js'
import type { Db, DbKind } from '../../src/db/types.js'

/** The admin URL of the test PostgreSQL server. */
export const TEST_PG_URL = process.env.OPG_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** A scratch database and how to throw it away. */
export interface TestDb {
  db: Db
  /** The URL another handle can open (for PostgreSQL); 'memory:' for PGlite. */
  url: string
  drop(): Promise<void>
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url)
  u.pathname = `/${name}`
  return u.toString()
}

/** Whether the test PostgreSQL server answers (checked once per call). */
export async function postgresAvailable(): Promise<boolean> {
  const admin = new PostgresDb(TEST_PG_URL, { max: 1 })
  try {
    await admin.query('SELECT 1')
    return true
  } catch {
    return false
  } finally {
    await admin.close()
  }
}

/** Create a fresh, empty database of `kind`. */
export async function createTestDb(kind: DbKind): Promise<TestDb> {
  if (kind === 'pglite') {
    const db = await openDb('memory:')
    return { db, url: 'memory:', drop: () => db.close() }
  }
  const name = `opg_test_${process.pid}_${randomBytes(4).toString('hex')}`
  const admin = new PostgresDb(TEST_PG_URL, { max: 1 })
  try {
    await admin.exec(`CREATE DATABASE ${name}`)
  } finally {
    await admin.close()
  }
  const url = withDatabase(TEST_PG_URL, name)
  const db = await openDb(url)
  return {
    db,
    url,
    drop: async () => {
      await db.close()
      const a = new PostgresDb(TEST_PG_URL, { max: 1 })
      try {
        await a.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await a.close()
      }
    },
  }
}

/** Options of forEachDatabase. */
export interface ForEachDatabaseOptions {
  /** Run migrations first (default true). Pass MigrateOptions (e.g. `{ upTo: 99 }`) to limit them. */
  migrate?: boolean | MigrateOptions
  /** Only these engines (default both). */
  kinds?: DbKind[]
}

/**
 * Run `fn` as a subtest once per engine ('pglite', then 'postgres'), each on a fresh migrated database
 * that is closed (and dropped) when the subtest ends.
 */
export async function forEachDatabase(
  t: Test,
  fn: (t: Test, db: Db, kind: DbKind) => Promise<void>,
  opts: ForEachDatabaseOptions = {},
): Promise<void> {
  const kinds = opts.kinds ?? ['pglite', 'postgres']
  for (const kind of kinds) {
    if (kind === 'postgres' && !(await postgresAvailable())) {
      if (process.env.CI) {
        t.fail(`PostgreSQL is not reachable at ${TEST_PG_URL}`)
      } else {
        await t.test(kind, { skip: `PostgreSQL is not reachable at ${TEST_PG_URL}` }, async () => {})
      }
      continue
    }
    await t.test(kind, async (t) => {
      const scratch = await createTestDb(kind)
      t.teardown(() => scratch.drop())
      const m = opts.migrate ?? true
      if (m !== false) await migrate(scratch.db, m === true ? {} : m)
      await fn(t, scratch.db, kind)
    })
  }
}

/** Insert a tenant (and return its id), for tests that need rows that refer to one. */
export async function seedTenant(
  db: Pick<Db, 'query'>,
  opts: { id?: string; currency?: string } = {},
): Promise<string> {
  const id = opts.id ?? newId()
  await db.query('INSERT INTO tenants (id, name, currency) VALUES ($1, $2, $3)', [
    id,
    `tenant ${id}`,
    opts.currency ?? 'EUR',
  ])
  return id
}
