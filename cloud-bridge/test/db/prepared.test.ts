// Named prepared statements on PostgreSQL: data statements are parsed once per connection, a schema change made
// through the Db starts fresh names, one made elsewhere is cured by a rerun, and `prepare: false` turns it off.
import t from 'tap'
import { isRetryable } from '../../src/db/errors.js'
import { openDb } from '../../src/db/open.js'
import type { Db } from '../../src/db/types.js'
import { createTestDb, postgresAvailable, TEST_PG_URL } from '../support/databases.js'

const prepared = async (db: Db) =>
  db.transaction(async (tx) => {
    const r = await tx.query<{ statement: string }>(
      "SELECT statement FROM pg_prepared_statements WHERE name LIKE 'opg\\_%' ORDER BY prepare_time",
    )
    return r.rows.map((x) => x.statement)
  })

const available = await postgresAvailable()
if (!available && process.env.CI) t.fail(`PostgreSQL is not reachable at ${TEST_PG_URL}`)

t.test('prepared statements', { skip: available ? false : `no PostgreSQL at ${TEST_PG_URL}` }, async (t) => {
  const scratch = await createTestDb('postgres')
  t.teardown(() => scratch.drop())
  const one = async (prepare?: boolean) => {
    const db = await openDb(scratch.url, { max: 1, ...(prepare === undefined ? {} : { prepare }) })
    t.teardown(() => db.close())
    return db
  }
  await scratch.db.exec('CREATE TABLE things (id int PRIMARY KEY, name text)')
  await scratch.db.query("INSERT INTO things VALUES (1, 'one'), (2, 'two')")
  const SELECT = 'SELECT * FROM things WHERE id = ANY($1::int[]) ORDER BY id'

  await t.test('a data statement is prepared once on its connection and answers as before', async (t) => {
    const db = await one()
    for (let i = 0; i < 3; i++) {
      t.same((await db.query(SELECT, [[1, 2]])).rows, [
        { id: 1, name: 'one' },
        { id: 2, name: 'two' },
      ])
    }
    t.same(
      (await prepared(db)).filter((s) => s === SELECT),
      [SELECT],
      'one prepared statement for three runs',
    )
  })

  await t.test('a table changed through the same Db: the next run sees its new shape', async (t) => {
    const db = await one()
    await db.query(SELECT, [[1]])
    await db.exec('ALTER TABLE things ADD COLUMN colour text')
    t.same((await db.query(SELECT, [[1]])).rows, [{ id: 1, name: 'one', colour: null }])
    await db.transaction((tx) => tx.query('ALTER TABLE things DROP COLUMN colour'))
    t.same(
      await db.transaction(async (tx) => (await tx.query(SELECT, [[1]])).rows),
      [{ id: 1, name: 'one' }],
      'DDL through query() too',
    )
  })

  await t.test(
    'a table changed by another process: the transaction reruns on fresh statements',
    async (t) => {
      const db = await one()
      const other = await one()
      t.same((await db.query(SELECT, [[2]])).rows, [{ id: 2, name: 'two' }])
      await other.exec('ALTER TABLE things ADD COLUMN size int')
      let runs = 0
      const rows = await db.transaction(async (tx) => {
        runs++
        return (await tx.query(SELECT, [[2]])).rows
      })
      t.same(rows, [{ id: 2, name: 'two', size: null }])
      t.equal(runs, 2, 'the first run met the stale plan, the rerun did not')
      await other.exec('ALTER TABLE things DROP COLUMN size')
      t.same((await db.query(SELECT, [[2]])).rows, [{ id: 2, name: 'two' }], 'outside a transaction too')
      // The error itself, as a caller without retries sees it.
      await other.exec('ALTER TABLE things ADD COLUMN size int')
      const err = await db.transaction((tx) => tx.query(SELECT, [[2]]), { retries: 0 }).catch((e) => e)
      t.ok(isRetryable(err), `a stale plan is retryable (${err.message})`)
      await other.exec('ALTER TABLE things DROP COLUMN size')
    },
  )

  await t.test("a past generation's statements are deallocated, on every connection", async (t) => {
    const db = await openDb(scratch.url, { max: 2 })
    t.teardown(() => db.close())
    // On each of the two connections at once: how many statements it holds prepared, and how many of those
    // are the same text prepared again under another generation's name.
    const onBoth = () =>
      Promise.all(
        [0, 1].map(() =>
          db.transaction(async (tx) => {
            await tx.query(SELECT, [[1]])
            await tx.query('SELECT pg_sleep(0.05)')
            const r = await tx.query<{ n: number; again: number }>(
              `SELECT count(*)::int AS n, (count(*) - count(DISTINCT statement))::int AS again
                 FROM pg_prepared_statements WHERE name LIKE 'opg\\_%'`,
            )
            return r.rows[0]!
          }),
        ),
      )
    const first = await onBoth()
    t.same(
      first.map((c) => c.again),
      [0, 0],
      'each statement prepared once',
    )
    const held = Math.max(...first.map((c) => c.n))
    await db.exec('CREATE TABLE elsewhere (id int)')
    const second = await onBoth()
    t.same(
      second.map((c) => c.again),
      [0, 0],
      'after a schema change: no statement held under two generations',
    )
    t.ok(
      second.every((c) => c.n <= held),
      `no more statements held than before (${first.map((c) => c.n)} → ${second.map((c) => c.n)})`,
    )
    // A stale plan from a change made by another process starts a generation too.
    const other = await one()
    await other.exec('ALTER TABLE things ADD COLUMN size int')
    // The transactions meet the stale plan and rerun; a connection lent before the new generation began keeps
    // its old statements until it is lent again.
    await onBoth()
    t.same(
      (await onBoth()).map((c) => c.again),
      [0, 0],
      'after a stale plan: no statement held under two generations',
    )
    await other.exec('ALTER TABLE things DROP COLUMN size')
    t.same((await db.query(SELECT, [[2]])).rows, [{ id: 2, name: 'two' }], 'statements still answer')
    const err = await db.query('SELECT 1/0 AS x').catch((e) => e)
    t.match(err.message, /division by zero/)
    t.same((await db.query(SELECT, [[1]])).rows, [{ id: 1, name: 'one' }], 'and after an error')
  })

  await t.test('prepare: false runs every statement unnamed', async (t) => {
    const db = await one(false)
    await db.query(SELECT, [[1]])
    await db.query(SELECT, [[1]])
    t.same(await prepared(db), [])
  })
})
