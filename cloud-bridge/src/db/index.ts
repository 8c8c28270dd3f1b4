/**
 * The bridge's data layer: one `Db` interface over PostgreSQL and embedded PGlite, migrations, id helpers
 * and error helpers. See README.md §Storage.
 */

export { DbError, type DbErrorCode, isDbError, isRetryable, isUniqueViolation, sqlState } from './errors.js'
export { isId, newId, newUuid } from './ids.js'
export { inTransaction } from './in-transaction.js'
export {
  loadMigrations,
  MIGRATIONS_DIR,
  type MigrateOptions,
  type MigrateResult,
  type Migration,
  migrate,
} from './migrate.js'
export { type OpenDbOptions, openDb } from './open.js'
export { EMBEDDED_WARNING, PgliteDb, type PgliteOptions } from './pglite.js'
export { PostgresDb, type PostgresOptions } from './postgres.js'
export type { Db, DbKind, Queryable, QueryResult, Row, SqlQuery, Tx, TxOptions } from './types.js'
