/**
 * Ledger accounts: named by (tenant, kind, owner, currency). Balances are signed sums of postings; a
 * positive posting raises the account, a negative one lowers it, and every entry sums to zero per currency.
 * Accounts of wallets and merchants are owned by that wallet or merchant id; the tenant's own clearing and
 * settlement accounts are owned by the tenant id.
 */

/** Every kind of account. */
export const ACCOUNT_KINDS = [
  /** Money a wallet can spend online or load into a purse. */
  'wallet_available',
  /** Money moved out of a wallet into its offline purse: what offline tokens can spend. */
  'purse_escrow',
  /** Offline payments to a merchant not yet confirmed by the payer side (held, disputable). */
  'merchant_held',
  /** The merchant's spendable balance at the bridge. */
  'merchant_wallet',
  /** Owed to the merchant's bank account, awaiting a payout batch. */
  'merchant_bank_payable',
  /** Tenant: money due from the card provider for card payments (goes negative as cards pay in). */
  'card_clearing',
  /** Tenant: the tenant's bank; payouts to merchants and top-ups from banks pass through it. */
  'bank_settlement',
  /** Tenant: amounts parked by an operator decision pending investigation. */
  'suspense',
] as const

/** A kind of account. */
export type AccountKind = (typeof ACCOUNT_KINDS)[number]

/**
 * Kinds that can never go below zero: money the bridge owes a customer or merchant that has not been paid
 * out. A posting that would take one negative is refused with `insufficient_funds`. merchant_wallet is among
 * them: payouts keep the claim reserve in it (payout-build.ts), so a claim never needs to take it negative, and
 * if a rule ever tried, the ledger refuses loudly instead of carrying a silent debt.
 */
export const GUARDED_KINDS: ReadonlySet<AccountKind> = new Set<AccountKind>([
  'wallet_available',
  'purse_escrow',
  'merchant_held',
  'merchant_wallet',
  'merchant_bank_payable',
])

/** An account. */
export interface Account {
  tenantId: string
  kind: AccountKind
  /** Wallet or merchant id, or the tenant id for tenant-level kinds. */
  ownerId: string
  /** ISO 4217 code, e.g. 'EUR'. */
  currency: string
}

/** Shorthands that name the accounts the bridge uses, so call sites cannot mix up owner and kind. */
export const accounts = {
  walletAvailable: (tenantId: string, walletId: string, currency: string): Account => ({
    tenantId,
    kind: 'wallet_available',
    ownerId: walletId,
    currency,
  }),
  purseEscrow: (tenantId: string, walletId: string, currency: string): Account => ({
    tenantId,
    kind: 'purse_escrow',
    ownerId: walletId,
    currency,
  }),
  merchantHeld: (tenantId: string, merchantId: string, currency: string): Account => ({
    tenantId,
    kind: 'merchant_held',
    ownerId: merchantId,
    currency,
  }),
  merchantWallet: (tenantId: string, merchantId: string, currency: string): Account => ({
    tenantId,
    kind: 'merchant_wallet',
    ownerId: merchantId,
    currency,
  }),
  merchantBankPayable: (tenantId: string, merchantId: string, currency: string): Account => ({
    tenantId,
    kind: 'merchant_bank_payable',
    ownerId: merchantId,
    currency,
  }),
  cardClearing: (tenantId: string, currency: string): Account => ({
    tenantId,
    kind: 'card_clearing',
    ownerId: tenantId,
    currency,
  }),
  bankSettlement: (tenantId: string, currency: string): Account => ({
    tenantId,
    kind: 'bank_settlement',
    ownerId: tenantId,
    currency,
  }),
  suspense: (tenantId: string, currency: string): Account => ({
    tenantId,
    kind: 'suspense',
    ownerId: tenantId,
    currency,
  }),
}

/** A stable text key of an account (for maps and sorting). */
export function accountKey(a: Account): string {
  return `${a.tenantId}/${a.kind}/${a.ownerId}/${a.currency}`
}
