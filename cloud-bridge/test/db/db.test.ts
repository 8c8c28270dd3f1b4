import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { EMBEDDED_WARNING, isDbError, loadMigrations, migrate, openDb, sqlState } from '../../src/db/index.js'
import { createTestDb, forEachDatabase, postgresAvailable, seedTenant } from '../support/databases.js'

forEachDatabase(
  t,
  async (t, db) => {
    t.test('integers come back as bigint, exactly', async (t) => {
      const r = await db.query<Record<string, unknown>>(
        `SELECT 9007199254740993::int8 AS big, 42::int4 AS small, sum(x) AS total, count(*) AS n,
                '{1,NULL,-3}'::int8[] AS arr, '\\x00ff'::bytea AS bin, now() AS at, '{"a":1}'::jsonb AS doc
           FROM (VALUES (1::int8), (2::int8)) v(x)`,
      )
      const row = r.rows[0]!
      t.equal(row.big, 9007199254740993n)
      t.equal(row.small, 42)
      t.equal(row.total, 3n, 'sum(int8) is numeric in SQL and still a bigint here')
      t.equal(row.n, 2n)
      t.same(row.arr, [1n, null, -3n])
      t.ok(Buffer.isBuffer(row.bin))
      t.same([...(row.bin as Buffer)], [0, 255])
      t.ok(row.at instanceof Date)
      t.same(row.doc, { a: 1 })
    })

    t.test('parameters: bigint is exact, an unsafe number is refused', async (t) => {
      const r = await db.query<{ v: bigint }>('SELECT $1::int8 + 1 AS v', [9007199254740993n])
      t.equal(r.rows[0]!.v, 9007199254740994n)
      await t.rejects(db.query('SELECT $1::int8', [2 ** 60]), { code: 'unsafe_integer' })
      const arr = await db.query<{ v: bigint[] }>('SELECT $1::int8[] AS v', [[1n, 9007199254740993n]])
      t.same(arr.rows[0]!.v, [1n, 9007199254740993n], 'bigint arrays too')
      await t.rejects(db.query('SELECT $1::int8[]', [[1, 2 ** 60]]), { code: 'unsafe_integer' })
      const b = await db.query<{ v: Buffer }>('SELECT $1::bytea AS v', [new Uint8Array([1, 2, 3])])
      t.same([...b.rows[0]!.v], [1, 2, 3])
    })

    t.test('array parameters read back exactly as the values (binary on PostgreSQL)', async (t) => {
      const texts = [
        '01a241f0-fb8e-7394-9cdb-513faf929a0a',
        'a:1',
        '',
        'NULL',
        'null',
        'a,b',
        '{x}',
        'say "hi"',
      ]
      const more = ['back\\slash', 'two words', ' lead', 'ünïcode', null]
      const r = await db.query<{ v: (string | null)[] }>('SELECT $1::text[] AS v', [[...texts, ...more]])
      t.same(r.rows[0]!.v, [...texts, ...more], 'quoted where needed, NULL only for null')
      const n = await db.query<{ v: bigint[] }>('SELECT $1::int8[] AS v', [[1, 9007199254740993n, -3]])
      t.same(n.rows[0]!.v, [1n, 9007199254740993n, -3n])
      await t.rejects(db.query('SELECT $1::int8[] AS v', [[1, 2 ** 60]]), { code: 'unsafe_integer' })
      const at = new Date(Date.UTC(2030, 0, 2, 3, 4, 5, 678))
      const d = await db.query<{ v: Date[] }>('SELECT $1::timestamptz[] AS v', [[at, null]])
      t.same(d.rows[0]!.v, [at, null], 'dates as UTC instants')
      const b = await db.query<{ v: string }>("SELECT array_to_string($1::bytea[], ',') AS v", [
        [new Uint8Array([0, 1, 255]), new Uint8Array(Buffer.from('abc').subarray(1))],
      ])
      t.equal(b.rows[0]!.v, '\\x0001ff,\\x6263', 'bytes, subarrays included')
    })

    t.test('a numeric with a fraction is refused rather than rounded', async (t) => {
      await t.rejects(db.query('SELECT 1.5::numeric AS v'), { code: 'not_integer' })
    })

    t.test('transactions commit, roll back and keep savepoints apart', async (t) => {
      const tenant = await seedTenant(db)
      await t.rejects(
        db.transaction(async (tx) => {
          await tx.query("UPDATE tenants SET name = 'renamed' WHERE id = $1", [tenant])
          throw new Error('boom')
        }),
        { message: 'boom' },
      )
      let name = (await db.query<{ name: string }>('SELECT name FROM tenants WHERE id = $1', [tenant]))
        .rows[0]!.name
      t.equal(name, `tenant ${tenant}`, 'rolled back')

      await db.transaction(async (tx) => {
        await tx.query("UPDATE tenants SET name = 'kept' WHERE id = $1", [tenant])
        await t.rejects(
          tx.savepoint(async (sp) => {
            await sp.query("UPDATE tenants SET name = 'undone' WHERE id = $1", [tenant])
            await sp.query('SELECT 1 / 0')
          }),
        )
        // the transaction is still usable after the savepoint rolled back
        await tx.query('SELECT 1')
      })
      name = (await db.query<{ name: string }>('SELECT name FROM tenants WHERE id = $1', [tenant])).rows[0]!
        .name
      t.equal(name, 'kept')
    })

    t.test('inside a transaction only the tx may be used, and only while it runs', async (t) => {
      let leaked: { query(s: string): Promise<unknown> } | undefined
      await t.rejects(
        db.transaction(async (tx) => {
          leaked = tx
          await db.query('SELECT 1')
        }),
        { code: 'query_outside_tx' },
      )
      await t.rejects(leaked!.query('SELECT 1'), { code: 'tx_closed' })
      // and the Db still works afterwards
      t.equal((await db.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one, 1)
    })

    t.test('SQL errors keep their SQLSTATE', async (t) => {
      const tenant = await seedTenant(db)
      const err = await seedTenant(db, { id: tenant }).catch((e: unknown) => e)
      t.equal(sqlState(err), '23505')
    })

    t.test('migrate is idempotent and refuses a changed migration', async (t) => {
      const again = await migrate(db, { upTo: 99 })
      t.same(again.applied, [])
      const dir = await mkdtemp(join(tmpdir(), 'opg-mig-'))
      t.teardown(() => rm(dir, { recursive: true, force: true }))
      await writeFile(join(dir, '001_core.sql'), '-- edited\n')
      await t.rejects(migrate(db, { dir }), { code: 'migration_changed' })
    })
  },
  { migrate: { upTo: 99 } },
)

forEachDatabase(
  t,
  async (t, db) => {
    t.test('a failing migration leaves nothing behind', async (t) => {
      const dir = await mkdtemp(join(tmpdir(), 'opg-mig-'))
      t.teardown(() => rm(dir, { recursive: true, force: true }))
      await writeFile(join(dir, '001_a.sql'), 'CREATE TABLE a (x int);')
      await writeFile(join(dir, '002_b.sql'), 'CREATE TABLE b (x int); SELECT no_such_function();')
      const err = await migrate(db, { dir }).catch((e: unknown) => e)
      t.ok(isDbError(err, 'migration_failed'))
      const r = await db.query("SELECT to_regclass('a') AS a, to_regclass('schema_migrations') AS m")
      t.same(r.rows[0], { a: null, m: null }, 'all pending migrations run in one transaction')
      await writeFile(join(dir, '002_b.sql'), 'CREATE TABLE b (x int);')
      t.same((await migrate(db, { dir })).applied, ['001_a.sql', '002_b.sql'])
    })
  },
  { migrate: false },
)

t.test('migrations: files are ordered by number and versions are unique', async (t) => {
  const all = await loadMigrations()
  t.ok(all.length >= 1)
  t.equal(all[0]!.name, '001_core.sql')
  t.same(
    all.map((m) => m.version),
    [...all.map((m) => m.version)].sort((a, b) => a - b),
  )
})

t.test('openDb refuses URLs it does not understand', async (t) => {
  await t.rejects(openDb(''), { code: 'bad_url' })
  await t.rejects(openDb('mysql://localhost/x'), { code: 'bad_url' })
})

t.test('a PGlite directory is locked, warned about and reopenable', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'opg-lite-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  const dir = join(root, 'data')
  const warnings: string[] = []
  const db = await openDb(dir, { warn: (m) => warnings.push(m) })
  t.same(warnings, [EMBEDDED_WARNING])
  t.match(EMBEDDED_WARNING, /not production money/)
  await t.rejects(openDb(dir, { warn: () => {} }), { code: 'store_locked' }, 'a second opener is refused')
  await migrate(db, { upTo: 99 })
  await seedTenant(db, { id: '00000000000000aa' })
  await db.close()

  // A lock left behind by a process that no longer exists is taken over.
  await writeFile(`${dir}.lock`, '999999999\n')
  const again = await openDb(`pglite:${dir}`, { warn: () => {} })
  const r = await again.query<{ n: bigint }>('SELECT count(*) AS n FROM tenants')
  t.equal(r.rows[0]!.n, 1n, 'data survived the reopen')
  await again.close()
})

t.test('two replicas migrating one PostgreSQL database at once apply each migration once', async (t) => {
  if (!(await postgresAvailable())) {
    if (process.env.CI) t.fail('PostgreSQL is not reachable')
    else await t.test('needs PostgreSQL', { skip: 'PostgreSQL is not reachable' }, async () => {})
    return
  }
  const scratch = await createTestDb('postgres')
  t.teardown(() => scratch.drop())
  const other = await openDb(scratch.url)
  t.teardown(() => other.close())
  const [a, b] = await Promise.all([migrate(scratch.db, { upTo: 99 }), migrate(other, { upTo: 99 })])
  t.same([...a.applied, ...b.applied], ['001_core.sql'], 'one replica applied it, the other found it done')
  const r = await scratch.db.query<{ n: bigint }>('SELECT count(*) AS n FROM schema_migrations')
  t.equal(r.rows[0]!.n, 1n)
})

forEachDatabase(
  t,
  async (t, db) => {
    t.test('serialization failures are retried; without retries they surface', async (t) => {
      await db.exec(
        'CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL); INSERT INTO counter VALUES (1, 0)',
      )
      const bump = (retries: number) =>
        db.transaction(
          async (tx) => {
            const r = await tx.query<{ n: number }>('SELECT n FROM counter WHERE id = 1')
            // Give the other transactions time to read the same value before anyone writes.
            await new Promise((resolve) => setTimeout(resolve, 20))
            await tx.query('UPDATE counter SET n = $1 WHERE id = 1', [r.rows[0]!.n + 1])
          },
          { isolation: 'serializable', retries },
        )
      await Promise.all([bump(20), bump(20), bump(20)])
      const r = await db.query<{ n: number }>('SELECT n FROM counter WHERE id = 1')
      t.equal(r.rows[0]!.n, 3, 'no update was lost')
      const outcomes = await Promise.allSettled([bump(0), bump(0), bump(0)])
      const failed = outcomes.filter((o) => o.status === 'rejected')
      t.ok(failed.length > 0, 'with retries: 0 the conflict reaches the caller')
      t.ok(failed.every((o) => (o as PromiseRejectedResult).reason.code === '40001'))
    })
  },
  { migrate: false, kinds: ['postgres'] },
)
