// A batch's wallets are locked in id order and created when new: existing ones with one statement, new ones
// inserted then locked; batches racing on the same new wallets create each once and neither fails.
import t from 'tap'
import { newId } from '../../src/db/ids.js'
import { lockWallets } from '../../src/reconcile/store.js'
import { forEachEngine, seedTenant } from './support.js'

await forEachEngine(t, async (t, { db, kind }) => {
  const { tenantId } = await seedTenant(db, { purse: 1 })
  const count = async (ids: string[]) =>
    Number(
      (
        await db.query<{ n: string }>(
          'SELECT count(*) AS n FROM offline_wallets WHERE tenant_id = $1 AND wallet_id = ANY($2::text[])',
          [tenantId, ids],
        )
      ).rows[0]!.n,
    )

  await t.test('new, existing and repeated wallets: each once, in id order, created when new', async (t) => {
    const old = [newId(), newId()]
    await db.transaction((tx) => lockWallets(tx, tenantId, old))
    await db.query('UPDATE offline_wallets SET frozen_at = now() WHERE tenant_id = $1 AND wallet_id = $2', [
      tenantId,
      old[0],
    ])
    const fresh = [newId(), newId(), newId()]
    const asked = [fresh[2]!, old[1]!, fresh[0]!, old[0]!, fresh[1]!, old[1]!]
    const got = await db.transaction((tx) => lockWallets(tx, tenantId, asked))
    t.same(
      got.map((w) => w.walletId),
      [...old, ...fresh].sort(),
      'every wallet once, sorted by id',
    )
    t.ok(got.every((w) => w.tenantId === tenantId))
    t.same(
      got.filter((w) => w.frozenAt !== null).map((w) => w.walletId),
      [old[0]],
      'an existing wallet is read as it is',
    )
    t.equal(await count([...old, ...fresh]), 5, 'the new ones were created, none twice')
    t.same(await db.transaction((tx) => lockWallets(tx, tenantId, [])), [])
  })

  if (kind !== 'postgres') return
  await t.test('batches racing on the same new wallets both succeed and create each once', async (t) => {
    for (let round = 0; round < 20; round++) {
      const shared = [newId(), newId(), newId()]
      const own = () => [newId(), newId()]
      const results = await Promise.all(
        [own(), own(), own()].map((mine) =>
          db.transaction(async (tx) => {
            const got = await lockWallets(tx, tenantId, [...mine, ...shared])
            // Hold the locks a moment, as a batch does while it reconciles.
            await tx.query('SELECT pg_sleep(0.002)')
            return got.map((w) => w.walletId)
          }),
        ),
      )
      for (const r of results) {
        t.equal(r.length, 5)
        t.same(r, [...r].sort())
      }
      t.equal(await count(shared), 3)
    }
  })
})
