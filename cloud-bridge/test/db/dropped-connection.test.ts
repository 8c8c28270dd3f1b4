// A connection PostgreSQL drops while the bridge is using it (a restart, a failover, a terminated backend): the
// statement or transaction on it fails with the server's reason, the process lives on, and the next statement
// runs on a fresh connection.
import t from 'tap'
import { openDb } from '../../src/db/open.js'
import { createTestDb, postgresAvailable, TEST_PG_URL } from '../support/databases.js'

const available = await postgresAvailable()
if (!available && process.env.CI) t.fail(`PostgreSQL is not reachable at ${TEST_PG_URL}`)

t.test('a dropped connection', { skip: available ? false : `no PostgreSQL at ${TEST_PG_URL}` }, async (t) => {
  const scratch = await createTestDb('postgres')
  t.teardown(() => scratch.drop())
  const db = await openDb(scratch.url!, { max: 2 })
  t.teardown(() => db.close())
  const KILL_SELF = 'SELECT pg_terminate_backend(pg_backend_pid())'
  const answers = async () => (await db.query<{ x: number }>('SELECT 1 AS x')).rows

  const single = await db.query(KILL_SELF).catch((e: Error) => e)
  t.match(single, { message: /terminating connection/ }, 'one statement fails with the reason')
  t.same(await answers(), [{ x: 1 }], 'the next statement runs')

  const inTx = await db.transaction((tx) => tx.query(KILL_SELF), { retries: 0 }).catch((e: Error) => e)
  t.match(inTx, { message: /terminating connection/ }, 'a transaction fails with the reason')
  t.same(await answers(), [{ x: 1 }], 'the next statement runs')

  // Dropped from outside while a transaction waits on the server.
  let started: (pid: number) => void = () => {}
  const pid = new Promise<number>((resolve) => {
    started = resolve
  })
  const waiting = db
    .transaction(
      async (tx) => {
        started((await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid)
        await tx.query('SELECT pg_sleep(5)')
      },
      { retries: 0 },
    )
    .catch((e: Error) => e)
  await db.query('SELECT pg_terminate_backend($1::int)', [await pid])
  t.match(await waiting, { message: /terminating connection/ }, 'a waiting transaction fails with the reason')
  t.same(await answers(), [{ x: 1 }], 'the next statement runs')
})
