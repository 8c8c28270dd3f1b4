// Test support for reconciliation and ingest: run a suite on PostgreSQL (a fresh, uniquely named database,
// dropped afterwards) and on PGlite (in memory), migrated with the core schema and the offline-payment schema.
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import pg from 'pg'
import type { Test } from 'tap'
import { newId } from '../../src/db/ids.js'
import { type Db, migrate, openDb } from '../../src/db/index.js'
import { transfer } from '../../src/ledger/post.js'
import type { TokenFacts } from '../../src/reconcile/types.js'

export const PG_ADMIN_URL = process.env.OPG_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export interface TestDb {
  db: Db
  kind: 'postgres' | 'pglite'
  /** A connection URL others (a second bridge replica) can open; null for PGlite. */
  url: string | null
}

/** Create a migrated database of `kind`; call the returned `drop` when done. */
export async function createTestDb(kind: 'postgres' | 'pglite'): Promise<TestDb & { drop(): Promise<void> }> {
  {
    if (kind === 'pglite') {
      const db = await openDb('memory:', { warn: () => {} })
      await migrate(db)
      return { db, kind, url: null, drop: () => db.close() }
    }
    const name = `opg_test_${randomBytes(6).toString('hex')}`
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL })
    await admin.connect()
    await admin.query(`CREATE DATABASE ${name}`)
    await admin.end()
    const url = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`)
    const db = await openDb(url, { max: 4 })
    await migrate(db)
    return {
      db,
      kind,
      url,
      async drop() {
        await db.close()
        const a = new pg.Client({ connectionString: PG_ADMIN_URL })
        await a.connect()
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
        await a.end()
      },
    }
  }
}

/** Run `fn` as a subtest on each engine. */
export async function forEachEngine(
  t: Test,
  fn: (t: Test, tdb: TestDb) => Promise<void>,
  engines: ('postgres' | 'pglite')[] = ['postgres', 'pglite'],
): Promise<void> {
  for (const kind of engines) {
    await t.test(kind, async (t) => {
      const tdb = await createTestDb(kind)
      t.teardown(() => tdb.drop())
      await fn(t, tdb)
    })
  }
}

/** A tenant with one merchant and one wallet whose purse of `purse` minor units is escrowed. */
export async function seedTenant(db: Db, opts: { purse: number; currency?: string; phone?: string | null }) {
  const tenantId = newId()
  const merchantId = newId()
  const walletId = newId()
  const currency = opts.currency ?? 'EUR'
  await db.transaction(async (tx) => {
    await tx.query('INSERT INTO tenants (id, name, currency) VALUES ($1, $2, $3)', [
      tenantId,
      `t-${tenantId}`,
      currency,
    ])
    await tx.query('INSERT INTO merchants (tenant_id, id, name) VALUES ($1, $2, $3)', [
      tenantId,
      merchantId,
      'Corner Shop',
    ])
    await tx.query(
      'INSERT INTO wallets (tenant_id, id, public_key, phone, currency) VALUES ($1, $2, $3, $4, $5)',
      [tenantId, walletId, randomBytes(32), opts.phone === undefined ? '+15550001' : opts.phone, currency],
    )
    const acc = (kind: 'wallet_available' | 'purse_escrow' | 'suspense', owner: string) => ({
      tenantId,
      kind,
      ownerId: owner,
      currency,
    })
    // Top up the wallet from the tenant's books, then load the purse: what the API does before going offline.
    await transfer(tx, {
      ref: `seed:${walletId}:topup`,
      tenantId,
      from: acc('suspense', tenantId),
      to: acc('wallet_available', walletId),
      amount: BigInt(opts.purse) * 2n,
    })
    await transfer(tx, {
      ref: `seed:${walletId}:purse`,
      tenantId,
      from: acc('wallet_available', walletId),
      to: acc('purse_escrow', walletId),
      amount: BigInt(opts.purse),
    })
  })
  return { tenantId, merchantId, walletId, currency }
}

/** Balance of one ledger account (0 when it has no postings). */
export async function balance(
  db: Db,
  tenantId: string,
  kind: string,
  owner: string,
  currency = 'EUR',
): Promise<number> {
  const { rows } = await db.query<{ balance: bigint }>(
    'SELECT balance FROM ledger_balances WHERE tenant_id = $1 AND kind = $2 AND owner = $3 AND currency = $4',
    [tenantId, kind, owner, currency],
  )
  return Number(rows[0]?.balance ?? 0n)
}

/**
 * The facts of a synthetic token of `s`'s wallet for reconciliation tests: unique bytes (no signature, so no hash
 * chain to check: every link empty), its own tx id unless given, and purse `purse` (default 0), which is also the
 * purse's counter base — as a real purse's id is wallet:counterBase, so counters of two purses never collide.
 */
export function syntheticToken(
  s: { tenantId: string; walletId: string; merchantId: string; currency: string },
  f: {
    counter: number
    expiresAt: number
    amount?: number
    purseAmount?: number
    purse?: number
  } & Partial<TokenFacts>,
): TokenFacts {
  const { expiresAt, purse = 0, ...over } = f
  const txId = over.txId ?? randomUUID()
  const bytes = new TextEncoder().encode(`${txId}/${purse}/${f.counter}/${f.amount ?? 500}`)
  return {
    txId,
    tenantId: s.tenantId,
    walletId: s.walletId,
    merchantId: s.merchantId,
    deviceId: 'dddddddddddddddd',
    amount: 500,
    currency: s.currency,
    purseId: `${s.walletId}:${purse}`,
    purseAmount: 2000,
    purseExpiresAt: expiresAt,
    token: bytes,
    tokenHash: createHash('sha256').update(bytes).digest('hex'),
    counterBase: purse,
    prevHash: '',
    link: '',
    chainStart: '',
    ...over,
  }
}
