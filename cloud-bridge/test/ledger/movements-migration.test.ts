/**
 * Movements posted as journal entries of their own before migration 422 are copied into ledger_movements, so
 * their refs keep being refused twice and a replay still names the entry that first carried them.
 */
import t from 'tap'
import { migrate } from '../../src/db/migrate.js'
import { balance, findMovement, postMovements, transfer } from '../../src/ledger/index.js'
import { forEachDatabase } from '../support/databases.js'
import { funded, move } from '../support/ledger-ops.js'

forEachDatabase(
  t,
  async (t, db) => {
    t.test('movements posted as entries before migration 422 keep their refs', async (t) => {
      const { tenant, escrow, held } = await funded(db)
      const old = await db.transaction((tx) =>
        transfer(tx, {
          ref: 'offline:t1:hold',
          tenantId: tenant,
          memo: 'offline payment held',
          from: escrow,
          to: held,
          amount: 25n,
        }),
      )
      await migrate(db)
      t.same(await findMovement(db, tenant, 'offline:t1:hold'), {
        entryId: old.id,
        from: escrow,
        to: held,
        amount: 25n,
        memo: 'offline payment held',
      })
      t.equal(await findMovement(db, tenant, 'fund:00000000000000a1'), null, 'other refs are not movements')
      const replay = await db.transaction((tx) =>
        postMovements(tx, [move('offline:t1:hold', tenant, escrow, held, 25n)]),
      )
      t.same(replay, [{ ref: 'offline:t1:hold', tenantId: tenant, entryId: old.id, replayed: true }])
      await t.rejects(
        db.transaction((tx) => postMovements(tx, [move('offline:t1:hold', tenant, escrow, held, 26n)])),
        { code: 'ref_conflict' },
      )
      t.equal(await balance(db, held), 25n, 'moved once')
    })
  },
  { migrate: { upTo: 421 } },
)
