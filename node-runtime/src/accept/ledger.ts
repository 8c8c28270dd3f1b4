/**
 * The acceptance rules that need memory: replay, the wallet's purse, revocation and the merchant's exposure
 * caps. `evaluate` is a pure function from (a read-only view of the box's state, a verified payment, policy,
 * time) to a verdict, so the rules are tested without storage. `VaultView` answers from the vault's own
 * indexes (the daily spend too: a wallet's few payments are summed on demand) plus the revocation list.
 */
import type { ErrorCode } from '@opg/protocol'
import type { Channel, Vault } from '../vault/types.js'

/** What the cryptographic checks establish about a presented payment token. */
export interface VerifiedPayment {
  txId: string
  walletId: string
  /** Identifies the wallet certificate (and so the purse) the token spends from. */
  purseId: string
  counter: number
  /** Spending under this certificate counts from this counter up. */
  counterBase: number
  amount: number
  currency: string
  perPaymentLimit: number
  purseAmount: number
  /** Certificate expiry, unix seconds. */
  certExpiresAt: number
  merchantId: string
  deviceId: string
  channel: Channel
  /** Encoded signed token, kept for the bridge. */
  tokenBytes: Uint8Array
}

/** The merchant's own risk policy (minor units). */
export interface ExposurePolicy {
  maxUnsyncedTotal: number
  maxPerWalletPerDay: number
  /** The currency this box takes. */
  currency: string
}

export type Verdict = { ok: true } | { ok: false; code: ErrorCode; reason: string }

/** Read-only view of the state `evaluate` needs. */
export interface LedgerView {
  hasTx(txId: string): boolean
  hasCounter(walletId: string, counter: number): boolean
  purseSpent(walletId: string, counterBase: number, currency: string): number
  walletDaySpent(walletId: string, day: number): number
  unsyncedTotal(currency: string): number
  isRevoked(walletId: string): boolean
}

/** UTC day number of a unix-ms time; per-wallet daily caps reset at UTC midnight of the trusted clock. */
export function dayOf(unixMs: number): number {
  return Math.floor(unixMs / 86_400_000)
}

/** Decide whether a cryptographically valid payment may be accepted now. Pure. */
export function evaluate(
  view: LedgerView,
  p: VerifiedPayment,
  policy: ExposurePolicy,
  nowMs: number,
): Verdict {
  if (!(p.amount > 0)) return { ok: false, code: 'bad_field', reason: 'amount must be positive' }
  if (p.currency !== policy.currency)
    return { ok: false, code: 'wrong_currency', reason: 'box takes another currency' }
  if (p.certExpiresAt * 1000 <= nowMs)
    return { ok: false, code: 'expired', reason: 'wallet certificate expired' }
  if (view.isRevoked(p.walletId))
    return { ok: false, code: 'revoked', reason: 'wallet is on the revocation list' }
  if (view.hasTx(p.txId)) return { ok: false, code: 'replay', reason: 'transaction id already accepted' }
  if (view.hasCounter(p.walletId, p.counter)) {
    return { ok: false, code: 'replay', reason: 'wallet counter already used' }
  }
  if (p.counter <= p.counterBase)
    return { ok: false, code: 'bad_counter', reason: 'counter below purse base' }
  if (p.amount > p.perPaymentLimit)
    return { ok: false, code: 'over_limit', reason: 'over the per-payment limit' }
  if (view.purseSpent(p.walletId, p.counterBase, p.currency) + p.amount > p.purseAmount) {
    return { ok: false, code: 'over_purse', reason: 'cumulative spend exceeds the offline purse' }
  }
  if (view.unsyncedTotal(p.currency) + p.amount > policy.maxUnsyncedTotal) {
    return { ok: false, code: 'exposure_cap', reason: 'merchant unsynced total cap reached' }
  }
  if (view.walletDaySpent(p.walletId, dayOf(nowMs)) + p.amount > policy.maxPerWalletPerDay) {
    return { ok: false, code: 'exposure_cap', reason: 'per-wallet daily cap reached' }
  }
  return { ok: true }
}

/**
 * A LedgerView over the vault. The vault counts a payment from the moment `append` reserves it, so a payment
 * still being written already counts against the caps and one whose write failed no longer does.
 */
export class VaultView implements LedgerView {
  readonly #vault: Vault
  #revoked: ReadonlySet<string> = new Set()
  #revocationVersion = -1

  constructor(vault: Vault) {
    this.#vault = vault
  }

  hasTx(txId: string): boolean {
    return this.#vault.has(txId)
  }
  hasCounter(walletId: string, counter: number): boolean {
    return this.#vault.hasCounter(walletId, counter)
  }
  purseSpent(walletId: string, counterBase: number, currency: string): number {
    return this.#vault.spentSince(walletId, counterBase, currency)
  }
  walletDaySpent(walletId: string, day: number): number {
    // Summed from the vault rather than kept in a map of wallet/day keys: that map held an entry for every
    // wallet and day in the vault (~10 MB at 100,000 payments) to answer for today only.
    return this.#vault.spentBetween(walletId, day * 86_400_000, (day + 1) * 86_400_000)
  }
  unsyncedTotal(currency: string): number {
    return this.#vault.stats().unsyncedAmountByCurrency[currency] ?? 0
  }
  isRevoked(walletId: string): boolean {
    return this.#revoked.has(walletId)
  }

  /** Replace the revocation list with a newer one from the bridge; older versions are ignored. */
  setRevoked(walletIds: Iterable<string>, version: number): boolean {
    if (version < this.#revocationVersion) return false
    this.#revoked = new Set(walletIds)
    this.#revocationVersion = version
    return true
  }
  get revocationVersion(): number {
    return this.#revocationVersion
  }
  revokedWallets(): string[] {
    return [...this.#revoked]
  }
}
