/**
 * Random ledger operations for the property tests (invariants.test.ts, movements.test.ts): each names the two
 * accounts a business event moves money between, over two wallets and two merchants of one tenant.
 */
import fc from 'fast-check'
import { type Account, accounts } from '../../src/ledger/index.js'

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
