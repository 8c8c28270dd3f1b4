/**
 * Shared pieces of the ledger tests: random operations for the property tests (ledger/invariants.test.ts,
 * ledger/movements.test.ts), each naming the two accounts a business event moves money between over two
 * wallets and two merchants of one tenant; and the movement and funding helpers of the movements tests.
 */
import fc from 'fast-check'
import type { Db } from '../../src/db/index.js'
import { type Account, accounts, type Movement, transfer } from '../../src/ledger/index.js'
import { seedTenant } from './databases.js'

export const WALLETS = ['00000000000000a1', '00000000000000a2']
export const MERCHANTS = ['00000000000000b1', '00000000000000b2']

export type Op =
  | { op: 'topUp'; w: number; amount: bigint }
  | { op: 'loadPurse'; w: number; amount: bigint }
  | { op: 'spend'; w: number; m: number; amount: bigint }
  | { op: 'confirm'; m: number; amount: bigint }
  | { op: 'reverse'; w: number; m: number; amount: bigint }
  | { op: 'release'; w: number; amount: bigint }
  | { op: 'payout'; m: number; amount: bigint }
  | { op: 'replay'; pick: number }

const amount = fc.bigInt({ min: 1n, max: 500n })
const w = fc.integer({ min: 0, max: WALLETS.length - 1 })
const m = fc.integer({ min: 0, max: MERCHANTS.length - 1 })
export const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('topUp' as const), w, amount }),
  fc.record({ op: fc.constant('loadPurse' as const), w, amount }),
  fc.record({ op: fc.constant('spend' as const), w, m, amount }),
  fc.record({ op: fc.constant('confirm' as const), m, amount }),
  fc.record({ op: fc.constant('reverse' as const), w, m, amount }),
  fc.record({ op: fc.constant('release' as const), w, amount }),
  fc.record({ op: fc.constant('payout' as const), m, amount }),
  fc.record({ op: fc.constant('replay' as const), pick: fc.nat() }),
)

/** The two accounts an operation moves money between. */
export function movement(tenant: string, o: Exclude<Op, { op: 'replay' }>): { from: Account; to: Account } {
  const wal = (i: number) => WALLETS[i]!
  const mer = (i: number) => MERCHANTS[i]!
  switch (o.op) {
    case 'topUp':
      return {
        from: accounts.cardClearing(tenant, 'EUR'),
        to: accounts.walletAvailable(tenant, wal(o.w), 'EUR'),
      }
    case 'loadPurse':
      return {
        from: accounts.walletAvailable(tenant, wal(o.w), 'EUR'),
        to: accounts.purseEscrow(tenant, wal(o.w), 'EUR'),
      }
    case 'spend':
      return {
        from: accounts.purseEscrow(tenant, wal(o.w), 'EUR'),
        to: accounts.merchantHeld(tenant, mer(o.m), 'EUR'),
      }
    case 'confirm':
      return {
        from: accounts.merchantHeld(tenant, mer(o.m), 'EUR'),
        to: accounts.merchantWallet(tenant, mer(o.m), 'EUR'),
      }
    case 'reverse':
      return {
        from: accounts.merchantHeld(tenant, mer(o.m), 'EUR'),
        to: accounts.walletAvailable(tenant, wal(o.w), 'EUR'),
      }
    case 'release':
      return {
        from: accounts.purseEscrow(tenant, wal(o.w), 'EUR'),
        to: accounts.walletAvailable(tenant, wal(o.w), 'EUR'),
      }
    case 'payout':
      return {
        from: accounts.merchantWallet(tenant, mer(o.m), 'EUR'),
        to: accounts.merchantBankPayable(tenant, mer(o.m), 'EUR'),
      }
  }
}

export const GUARDED = new Set([
  'wallet_available',
  'purse_escrow',
  'merchant_held',
  'merchant_wallet',
  'merchant_bank_payable',
])

/** The first and second wallet and the first merchant, by name. */
export const [W1, W2] = WALLETS as [string, string]
export const M = MERCHANTS[0]!

export const move = (
  ref: string,
  tenantId: string,
  from: Account,
  to: Account,
  amount: bigint,
): Movement => ({
  ref,
  tenantId,
  memo: 'payment held',
  from,
  to,
  amount,
})

/** A new tenant whose wallet W1 has 100 in its purse escrow, with that escrow and merchant M's held account. */
export async function funded(db: Db): Promise<{ tenant: string; escrow: Account; held: Account }> {
  const tenant = await seedTenant(db)
  await fund(db, tenant, W1, 100n)
  return {
    tenant,
    escrow: accounts.purseEscrow(tenant, W1, 'EUR'),
    held: accounts.merchantHeld(tenant, M, 'EUR'),
  }
}

/** Fund a wallet's purse escrow from the tenant's suspense account. */
export function fund(db: Db, tenant: string, wallet: string, amount: bigint) {
  return db.transaction((tx) =>
    transfer(tx, {
      ref: `fund:${wallet}`,
      tenantId: tenant,
      from: accounts.suspense(tenant, 'EUR'),
      to: accounts.purseEscrow(tenant, wallet, 'EUR'),
      amount,
    }),
  )
}

/** Load `amount` into a wallet's available balance (W1's by default) from the tenant's card clearing account. */
export function topUp(db: Db, tenant: string, ref: string, amount: bigint, wallet = W1) {
  return db.transaction((tx) =>
    transfer(tx, {
      ref,
      tenantId: tenant,
      from: accounts.cardClearing(tenant, 'EUR'),
      to: accounts.walletAvailable(tenant, wallet, 'EUR'),
      amount,
    }),
  )
}
