// The ledger's database-level checks (migration 400), below post(): raw SQL cannot write an unbalanced entry,
// a posting to another tenant's account or to no entry, nor delete an account that postings name.
import t from 'tap'
import type { Db } from '../../src/db/index.js'
import { accounts, checkInvariants, transfer } from '../../src/ledger/index.js'
import { forEachDatabase, seedTenant } from '../support/databases.js'

const W = '00000000000000a1'

const load = (db: Db, tenant: string, ref: string) =>
  db.transaction((tx) =>
    transfer(tx, {
      ref,
      tenantId: tenant,
      from: accounts.cardClearing(tenant, 'EUR'),
      to: accounts.walletAvailable(tenant, W, 'EUR'),
      amount: 10n,
    }),
  )

/** Insert an entry of `tenant` and postings (account id, amount) for it, in one statement. */
async function rawEntry(db: Db, tenant: string, postingTenant: string, legs: [bigint, number][]) {
  await db.transaction(async (tx) => {
    const e = await tx.query<{ id: string }>(
      "INSERT INTO ledger_entries (id, tenant_id, ref) VALUES (gen_random_uuid(), $1, 'raw-' || gen_random_uuid()) RETURNING id",
      [tenant],
    )
    await tx.query(
      `INSERT INTO ledger_postings (entry_id, seq, tenant_id, account_id, currency, amount)
       SELECT $1, s, $2, a, 'EUR', m FROM unnest($3::bigint[], $4::bigint[]) WITH ORDINALITY AS u(a, m, s)`,
      [e.rows[0]!.id, postingTenant, legs.map((l) => l[0].toString()), legs.map((l) => l[1])],
    )
  })
}

const accountIds = async (db: Db, tenant: string) =>
  (
    await db.query<{ id: bigint }>('SELECT id FROM ledger_accounts WHERE tenant_id = $1 ORDER BY kind', [
      tenant,
    ])
  ).rows.map((r) => BigInt(r.id))

forEachDatabase(t, async (t, db) => {
  t.test('a balanced raw entry of one tenant is accepted', async (t) => {
    const tenant = await seedTenant(db)
    await load(db, tenant, 'l1')
    const [a, b] = await accountIds(db, tenant)
    await rawEntry(db, tenant, tenant, [
      [a!, 3],
      [b!, -3],
    ])
    t.same(await checkInvariants(db, tenant), [])
  })

  t.test('an unbalanced raw entry is refused', async (t) => {
    const tenant = await seedTenant(db)
    await load(db, tenant, 'l1')
    const [a, b] = await accountIds(db, tenant)
    await t.rejects(
      rawEntry(db, tenant, tenant, [
        [a!, 3],
        [b!, -2],
      ]),
      /does not balance/,
    )
  })

  t.test("a posting to another tenant's account is refused", async (t) => {
    const mine = await seedTenant(db)
    const theirs = await seedTenant(db)
    await load(db, mine, 'l1')
    await load(db, theirs, 'l1')
    const [a] = await accountIds(db, mine)
    const [x] = await accountIds(db, theirs)
    await t.rejects(
      rawEntry(db, mine, mine, [
        [a!, 3],
        [x!, -3],
      ]),
      /no entry or account of its tenant/,
    )
    // Nor may the postings claim the other tenant while the entry is this one's.
    await t.rejects(
      rawEntry(db, mine, theirs, [
        [x!, 3],
        [x!, -3],
      ]),
      /no entry or account of its tenant/,
    )
    t.same(await checkInvariants(db, mine), [])
    t.same(await checkInvariants(db, theirs), [])
  })

  t.test('a posting to no account is refused, and accounts are never deleted', async (t) => {
    const tenant = await seedTenant(db)
    await load(db, tenant, 'l1')
    const [a] = await accountIds(db, tenant)
    await t.rejects(
      rawEntry(db, tenant, tenant, [
        [a!, 3],
        [999_999_999n, -3],
      ]),
      /no entry or account of its tenant/,
    )
    await t.rejects(db.query('DELETE FROM ledger_accounts WHERE id = $1', [a!.toString()]), /never deleted/)
  })
})
