/**
 * The small interfaces reconciliation needs from the rest of the bridge: SQL, the ledger, payer notification.
 * The data layer's Db, Ledger and SMS outbox are adapted to these in the composition root (see adapters.ts).
 */
import type { AccountRef } from './types.js'

/** Anything that runs one SQL statement: a pool, a client inside a transaction, PGlite. */
export interface Queryable {
  query<R = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
  ): Promise<{ rows: R[]; rowCount: number }>
}

/** A database that can run a function inside one transaction (commit on return, roll back on throw). */
export interface TransactionRunner {
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>
}

/** One double-entry movement between two accounts, posted inside the caller's transaction. */
export interface Transfer {
  tenantId: string
  from: AccountRef
  to: AccountRef
  amount: number
  currency: string
  ref: string
  memo: string
}

/** The ledger as reconciliation sees it. */
export interface LedgerPort {
  /**
   * Movements (any tenants) posted together: each recorded once under its own `ref` (a ref recorded before
   * with the same movement is a replay, with another a ref_conflict), guarded accounts checked in order as if
   * posted one by one, and one journal entry per tenant carrying their net per account.
   */
  transferMany(tx: Queryable, moves: Transfer[]): Promise<void>
}

/** What the payer is told when a held payment is auto-approved. */
export interface ApprovalNotice {
  tenantId: string
  walletId: string
  txId: string
  merchantId: string
  amount: number
  currency: string
  /** Until when (ms) the payer may claim fraud. */
  claimUntil: number
}

/** Queues the payer's SMS inside the caller's transaction (an outbox: sent after commit by the SMS worker). */
export interface PayerNotifier {
  approved(tx: Queryable, n: ApprovalNotice): Promise<void>
}

/** Marks a wallet frozen in the wallets table (online spending, purse loading) inside the caller's transaction. */
export interface WalletFreezer {
  freeze(tx: Queryable, tenantId: string, walletId: string, reason: string): Promise<void>
}

/** A clock in ms. Injected so tests can step time to the second. */
export type Clock = () => number

/**
 * Where reconciliation reads "now": once per transaction, through that transaction. Hold ends, claim windows,
 * purse grace and releases are deadlines every replica must agree on, so production reads the database's clock
 * (`databaseClock`); tests wrap an injected Clock (`fixedClock`) to step time deterministically.
 */
export interface ClockPort {
  now(tx: Queryable): Promise<number>
}

/** The database server's clock: `now()` is the transaction's start, the same for every statement in it. */
export const databaseClock: ClockPort = {
  async now(tx) {
    const { rows } = await tx.query<{ now: Date | string }>('SELECT now() AS now')
    return new Date(rows[0]!.now).getTime()
  },
}

/** An injected clock as a ClockPort (tests, demos). */
export const fixedClock = (clock: Clock): ClockPort => ({ now: async () => clock() })
