/**
 * Guarded debits against a growing history: the cost of posting one 100-movement batch (32 purses paying one
 * merchant, as a device batch does) when the purse and merchant accounts already carry H postings. Before
 * migration 423 every guarded debit summed the account's postings, so the cost grew with H; with running
 * balances it reads one locked row per account. Prints, per history size, wall ms and CPU ms (this process +
 * the scratch database's PostgreSQL backends) per batch.
 *
 *   npx tsx --conditions=@opg/source cloud-bridge/bench/ledger-history.ts      (HISTORY=0,20000,100000 BATCHES=30)
 */
import { loadavg } from 'node:os'
import { type Account, accounts, type Movement, postMovements } from '../src/ledger/index.js'
import { createTestDb, seedTenant } from '../test/reconcile/support.js'
import { withCpu } from './cpu.js'

const HISTORY = (process.env.HISTORY ?? '0,20000,100000').split(',').map(Number)
const BATCHES = Number(process.env.BATCHES ?? 30)
const PURSES = 32
const PER_BATCH = 100

const tdb = await createTestDb('postgres')
const { db } = tdb
const database = new URL(tdb.url!).pathname.slice(1)
try {
  const tenant = (await seedTenant(db, { purse: 1 })).tenantId
  const merchant = '00000000000000b1'
  const held = accounts.merchantHeld(tenant, merchant, 'EUR')
  const escrows: Account[] = Array.from({ length: PURSES }, (_, i) =>
    accounts.purseEscrow(tenant, `00000000000000${(0xa0 + i).toString(16)}`, 'EUR'),
  )
  const suspense = accounts.suspense(tenant, 'EUR')
  await db.transaction((tx) =>
    postMovements(
      tx,
      [...escrows, held].map((to, i) => ({
        ref: `fund:${i}`,
        tenantId: tenant,
        from: suspense,
        to,
        amount: 10n ** 12n,
      })),
    ),
  )
  const ids = await db.query<{ id: string; kind: string; owner: string }>(
    "SELECT id::text, kind, owner FROM ledger_accounts WHERE tenant_id = $1 AND kind IN ('purse_escrow', 'merchant_held') ORDER BY kind, owner",
    [tenant],
  )
  const heldId = ids.rows.find((r) => r.kind === 'merchant_held')!.id
  const escrowIds = escrows.map((a) => ids.rows.find((r) => r.kind === a.kind && r.owner === a.ownerId)!.id)

  /** Add `n` one-unit entries from the purses to the merchant (two postings each), in two statements. */
  const grow = async (n: number, from: number) => {
    if (n === 0) return
    await db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO ledger_entries (id, tenant_id, ref)
         SELECT gen_random_uuid(), $1, 'history:' || k FROM generate_series($2::int, $3::int) AS k`,
        [tenant, from, from + n - 1],
      )
      await tx.query(
        `INSERT INTO ledger_postings (entry_id, seq, tenant_id, account_id, currency, amount)
         SELECT e.id, s.seq, $1, CASE s.seq WHEN 0 THEN ($4::bigint[])[1 + k % $5] ELSE $6::bigint END, 'EUR',
                CASE s.seq WHEN 0 THEN -1 ELSE 1 END
           FROM generate_series($2::int, $3::int) AS k
           JOIN ledger_entries e ON e.tenant_id = $1 AND e.ref = 'history:' || k
          CROSS JOIN (VALUES (0), (1)) AS s(seq)`,
        [tenant, from, from + n - 1, escrowIds, PURSES, heldId],
      )
    })
    // Settled before measuring, so autovacuum's pass over the new rows is not counted in the batches.
    for (const table of ['ledger_entries', 'ledger_postings', 'ledger_accounts'])
      await db.exec(`VACUUM ANALYZE ${table}`)
  }

  let batch = 0
  const oneBatch = (): Movement[] =>
    Array.from({ length: PER_BATCH }, (_, i) => ({
      ref: `offline:b${batch}-${i}:hold`,
      tenantId: tenant,
      memo: 'offline payment held',
      from: escrows[i % PURSES]!,
      to: held,
      amount: 1n,
    }))

  console.log(`postings per purse / on the merchant | ms per batch: wall | CPU bridge + PostgreSQL`)
  let grown = 0
  for (const h of HISTORY) {
    await grow(h - grown, grown)
    grown = h
    for (let i = 0; i < 5; i++, batch++) {
      const moves = oneBatch()
      await db.transaction((tx) => postMovements(tx, moves))
    }
    const t0 = performance.now()
    const cpu = await withCpu(async () => {
      for (let i = 0; i < BATCHES; i++, batch++) {
        const moves = oneBatch()
        await db.transaction((tx) => postMovements(tx, moves))
      }
    }, database)
    const wall = (performance.now() - t0) / BATCHES
    const perPurse = Math.round(h / PURSES)
    console.log(
      `${`${perPurse} / ${h}`.padEnd(38)} | ${wall.toFixed(2).padStart(6)} | ${(cpu.bridgeMs / BATCHES).toFixed(2)} + ${(cpu.postgresMs / BATCHES).toFixed(2)}`,
    )
  }
  console.log(`load average at end ${loadavg()[0]!.toFixed(1)}`)
} finally {
  await tdb.drop()
}
