/**
 * The vault's vocabulary: the record kinds kept on flash, the summaries kept in memory, the `Vault` contract
 * that the file journal and the in-memory implementation both satisfy, and the vault's typed errors.
 */

/** How the payment reached the box. */
export type Channel = 'qr' | 'ble'

/** An accepted offline payment, exactly as the box must be able to hand it to the bridge later. */
export interface PaymentRecord {
  kind: 'payment'
  /** UUIDv7 from the token; unique in the vault. */
  txId: string
  walletId: string
  /** Identifies the wallet certificate (the purse) the token spends from, when the caller knows it. */
  purseId?: string | undefined
  counter: number
  /** Minor units, a positive safe integer. */
  amount: number
  /** ISO 4217 code. */
  currency: string
  merchantId: string
  deviceId: string
  /** Trusted time of acceptance, unix ms. */
  acceptedAt: number
  channel: Channel
  /** The signed payment token as received. */
  token: Uint8Array
  /** The receipt the box signed and sent back. */
  receipt: Uint8Array
}

/** The bridge acknowledged these payments (written by `markSynced`). */
export interface SyncedRecord {
  kind: 'synced'
  txIds: string[]
}

/**
 * The bridge refused these payments (written when an ack lists them as rejected). The payment record stays,
 * with the refusal code: a refusal is a state with its proof, never a deletion. Survives compaction.
 */
export interface RefusedRecord {
  kind: 'refused'
  items: { txId: string; code: string }[]
}

/** An invoice-paid confirmation received by SMS or MQTT while the customer paid online. */
export interface NoticeRecord {
  kind: 'notice'
  /** Invoice reference; unique in the vault. */
  ref: string
  amount: number
  currency: string
  counter: number
  via: 'sms' | 'mqtt'
  /** Trusted time of reception, unix ms. */
  receivedAt: number
}

export type VaultRecord = PaymentRecord | SyncedRecord | RefusedRecord | NoticeRecord

/** What the vault keeps in memory about each payment (token and receipt stay on flash until asked for). */
export interface PaymentSummary {
  txId: string
  walletId: string
  purseId: string | undefined
  counter: number
  amount: number
  currency: string
  acceptedAt: number
  channel: Channel
  /** Nothing more to send to the bridge (acked, refused, or damaged beyond sending). */
  synced: boolean
  /** The bridge's refusal code when it refused the payment (the merchant sees it as refused/disputed). */
  refused?: string | undefined
  /**
   * The frame on flash is damaged: only these identifiers could be salvaged (see journal-damage.ts). Kept so
   * the same token is refused if offered again; the raw bytes are in the vault's quarantine.
   */
  damaged?: boolean | undefined
}

export interface VaultStats {
  /** Payments held (synced and unsynced). */
  records: number
  notices: number
  unsyncedCount: number
  /** Sum of unsynced amounts, minor units, by currency. */
  unsyncedAmountByCurrency: Record<string, number>
  /** Payments the bridge refused (kept with their code). */
  refusedCount: number
  /** Payments whose frame is damaged on flash (identifiers salvaged, bytes quarantined). */
  damagedCount: number
  /** Bytes the vault occupies on its storage (0 for the in-memory vault). */
  bytes: number
  segments: number
  /** Latest `acceptedAt` of any payment held, or undefined when empty; a floor for the trusted clock. */
  lastAcceptedAt: number | undefined
}

/**
 * How much synced history to keep. Unsynced payments are never dropped. A synced payment is dropped when it
 * is older than `maxAgeMs` or beyond the newest `maxSynced` synced payments, but never while younger than
 * `protectMs` (a replayed token must still be recognised while its wallet certificate can be valid).
 */
export interface RetentionPolicy {
  maxSynced: number
  maxAgeMs: number
  protectMs: number
}

export const DEFAULT_RETENTION: RetentionPolicy = {
  maxSynced: 50_000,
  maxAgeMs: 90 * 86_400_000,
  protectMs: 7 * 86_400_000,
}

export interface CompactResult {
  /** Segment files removed. */
  segmentsRemoved: number
  /** Payments and notices forgotten. */
  dropped: number
  /** Unsynced payments or retained notices copied forward out of removed segments. */
  carried: number
}

/** The contract shared by the file journal and the in-memory vault (tests of other modules use the latter). */
export interface Vault {
  /**
   * Store a payment or notice. Resolves once it is durable. The identifiers are reserved synchronously, so a
   * concurrent duplicate is refused (`duplicate_tx`, `duplicate_counter`, `duplicate_notice`) even before
   * the first one is on flash, and queries below already count it.
   */
  append(rec: PaymentRecord | NoticeRecord): Promise<void>
  has(txId: string): boolean
  hasCounter(walletId: string, counter: number): boolean
  /** Sum of amounts of this wallet's payments with counter ≥ counterBase (optionally in one currency). */
  spentSince(walletId: string, counterBase: number, currency?: string): number
  /** Sum of amounts of this wallet's payments accepted in [fromMs, toMs) (a day, for the daily cap). */
  spentBetween(walletId: string, fromMs: number, toMs: number): number
  /** Summaries of every payment held, in journal order; for callers that build their own indexes. */
  payments(): IterableIterator<PaymentSummary>
  summary(txId: string): PaymentSummary | undefined
  /** The whole record (read back from flash for the file vault). */
  get(txId: string): Promise<PaymentRecord | undefined>
  /** Unsynced payments, oldest first, whole. */
  unsynced(limit?: number): Promise<PaymentRecord[]>
  /** Durably mark payments acknowledged by the bridge; unknown or already synced ids are ignored. Returns how many changed. */
  markSynced(txIds: Iterable<string>): Promise<number>
  /**
   * Durably record the bridge's refusal of payments, with its code. The payment stays (token and receipt
   * still readable), leaves the sync queue, and is never dropped by compaction. Returns how many changed.
   */
  markRefused(items: Iterable<{ txId: string; code: string }>): Promise<number>
  hasNotice(ref: string): boolean
  notices(): NoticeRecord[]
  stats(): VaultStats
  /** Drop synced history beyond the retention policy. `now` is trusted unix ms. */
  compact(now: number): Promise<CompactResult>
  /** Resolves once the journal's own bookkeeping (the high-water mark) covers every commit so far. */
  settled?(): Promise<void>
  close(): Promise<void>
}

export type VaultErrorCode =
  /** A record in the middle of the journal fails authentication, or the chain is broken (tamper, reorder, cut). */
  | 'corrupt'
  /** The journal was written with another key. */
  | 'wrong_key'
  | 'invalid_record'
  | 'duplicate_tx'
  | 'duplicate_counter'
  | 'duplicate_notice'
  /** A write or sync failed; nothing more is written until the vault is reopened (the journal is then repaired). */
  | 'io_failed'
  | 'closed'

/** The vault's own error type; switch on `code`. */
export class VaultError extends Error {
  override readonly name = 'VaultError'
  readonly code: VaultErrorCode
  constructor(code: VaultErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/** True when `err` is a VaultError, optionally with the given code. */
export function isVaultError(err: unknown, code?: VaultErrorCode): err is VaultError {
  return err instanceof VaultError && (code === undefined || err.code === code)
}
