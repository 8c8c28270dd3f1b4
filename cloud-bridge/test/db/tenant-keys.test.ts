// The schema is ready to be distributed by tenant: every table's primary key and unique indexes start with
// tenant_id, and every foreign key stays inside one tenant (it carries tenant_id on both sides, or names the
// tenants table itself). The few global tables are listed here with the reason they are global.
import t from 'tap'
import { forEachDatabase } from '../support/databases.js'

/**
 * Tables keyed otherwise, and why. Under Citus they are reference tables (copied to every node) or stay on
 * the coordinator; none holds per-payment rows.
 */
const GLOBAL: Record<string, string> = {
  tenants: 'the tenant list itself (the distribution key’s own table; a reference table)',
  schema_migrations: 'the schema version, one row per migration',
  api_keys: 'resolves a presented key (by its hash) to its tenant before the tenant is known',
  console_sessions: 'resolves a console cookie (by its hash) to its tenant before the tenant is known',
}

interface Row {
  table: string
  index: string
  first: string
}

forEachDatabase(t, async (t, db) => {
  t.test('every primary key and unique index starts with tenant_id', async (t) => {
    const { rows } = await db.query<Row>(
      `SELECT c.relname AS table, i.relname AS index, a.attname AS first
         FROM pg_index x
         JOIN pg_class c ON c.oid = x.indrelid
         JOIN pg_class i ON i.oid = x.indexrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = x.indkey[0]
        WHERE n.nspname = current_schema() AND x.indisunique AND c.relkind = 'r'
        ORDER BY 1, 2`,
    )
    t.ok(rows.length > 20, 'the catalog lists the schema’s keys')
    const offending = rows
      .filter((r) => r.first !== 'tenant_id' && !(r.table in GLOBAL))
      .map((r) => `${r.table}.${r.index} starts with ${r.first}`)
    t.same(offending, [], 'no other key starts elsewhere')
    const tables = new Set(rows.map((r) => r.table))
    for (const g of Object.keys(GLOBAL)) t.ok(tables.has(g), `${g} exists (the list is not stale)`)
  })

  t.test('every tenant table has a non-null tenant_id', async (t) => {
    const { rows } = await db.query<{ table: string; nullable: string | null }>(
      `SELECT c.relname AS table,
              (SELECT a.attnotnull::text FROM pg_attribute a
                WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped) AS nullable
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema() AND c.relkind = 'r' ORDER BY 1`,
    )
    const missing = rows.filter((r) => !(r.table in GLOBAL) && r.table !== 'tenants' && r.nullable !== 'true')
    t.same(
      missing.map((r) => r.table),
      [],
      'tenant_id NOT NULL everywhere but the global tables',
    )
  })

  t.test('no foreign key crosses tenants', async (t) => {
    const { rows } = await db.query<{ name: string; from_first: string; to_table: string; to_first: string }>(
      `SELECT k.conname AS name, fa.attname AS from_first, tc.relname AS to_table, ta.attname AS to_first
         FROM pg_constraint k
         JOIN pg_class tc ON tc.oid = k.confrelid
         JOIN pg_attribute fa ON fa.attrelid = k.conrelid AND fa.attnum = k.conkey[1]
         JOIN pg_attribute ta ON ta.attrelid = k.confrelid AND ta.attnum = k.confkey[1]
        WHERE k.contype = 'f' AND k.connamespace = current_schema()::regnamespace
        ORDER BY 1`,
    )
    t.ok(rows.length > 5, 'the catalog lists the foreign keys')
    const crossing = rows
      .filter(
        (r) => !(r.from_first === 'tenant_id' && (r.to_first === 'tenant_id' || r.to_table === 'tenants')),
      )
      .map((r) => `${r.name}: ${r.from_first} → ${r.to_table}.${r.to_first}`)
    t.same(crossing, [], 'each starts from tenant_id and lands on tenant_id or on tenants')
  })
})
