/**
 * What the HTTP API needs from the other bridge modules (issuer, SMS outbox, reconciliation), as small
 * interfaces; the database and the ledger are used directly (src/db, src/ledger). The composition root
 * (bridge.ts) adapts the real modules to these; tests may pass simple implementations. Keeping the seam
 * here means the API never reaches into another module's tables.
 */

import type { Queryable } from '../db/types.js'

export type { Db as Database, Queryable } from '../db/types.js'

/** Fields the issuer signs into a wallet certificate. Times are unix seconds. */
export interface WalletCertFields {
  walletId: string
  publicKey: Uint8Array
  perPaymentLimit: bigint
  purseAmount: bigint
  currency: string
  counterBase: bigint
  issuedAt: number
  expiresAt: number
}

/** Fields the issuer signs into a node certificate. Times are unix seconds. */
export interface NodeCertFields {
  tenantId: string
  merchantId: string
  deviceId: string
  signingKey: Uint8Array
  encryptionKey: Uint8Array
  issuedAt: number
  expiresAt: number
}

/** Signs with one issuer key already in memory: no I/O, so it is safe inside a database transaction. */
export interface CertSigner {
  readonly keyId: string
  walletCertificate(fields: WalletCertFields): Uint8Array
  nodeCertificate(fields: NodeCertFields): Uint8Array
}

/** The tenant's issuer: its current signing key, and every key still valid for verification. */
export interface IssuerPort {
  /** The tenant's current key; fails with `not_configured` when the tenant has no issuer key yet. */
  signer(tenantId: string): Promise<CertSigner>
  /** Every public key of the tenant's issuer by key id (hex), old ones included so they still verify. */
  keyring(tenantId: string): Promise<ReadonlyMap<string, Uint8Array>>
}

/** Status of an offline payment as a payer or operator sees it. */
export type PaymentStatus =
  | 'held'
  | 'confirmed'
  | 'auto_approved'
  | 'claimed'
  | 'reversed'
  | 'upheld'
  | 'double_spend'
  | 'unfunded'

/** One offline payment as reconciliation knows it. */
export interface PaymentView {
  txId: string
  walletId: string
  merchantId: string
  deviceId: string
  amount: bigint
  currency: string
  counter: bigint
  status: PaymentStatus
  /** When the bridge first saw the payment (device clocks are not trusted). */
  firstSeenAt: Date
  /** When a held payment auto-approves; null once settled. */
  holdUntil: Date | null
}

/** Outcome of one token of an uploaded payer log. */
export interface LogItemResult {
  index: number
  txId: string | null
  outcome: 'accepted' | 'duplicate' | 'rejected'
  status: PaymentStatus | null
  /** A ProtocolError or reconciliation code when rejected. */
  code: string | null
}

/** The reconciliation module, seen from the API. */
export interface ReconcilerPort {
  /** The payer-side entry point: the wallet's signed log of tokens. */
  uploadPayerLog(tenantId: string, walletId: string, tokens: Uint8Array[]): Promise<LogItemResult[]>
  /**
   * A payer's claim was filed: the payment becomes disputed and stops auto-approving. Runs inside `tx`, the
   * transaction that records the claim, so the dispute and its claim commit together or not at all.
   */
  dispute(tenantId: string, walletId: string, txId: string, reason: string, tx: Queryable): Promise<void>
  /** Operator decision on a disputed payment, applied through the ledger inside `tx` (as dispute). */
  resolveDispute(
    tenantId: string,
    txId: string,
    decision: 'reverse' | 'uphold',
    operator: string,
    tx: Queryable,
  ): Promise<void>
  payment(tenantId: string, txId: string): Promise<PaymentView | null>
  walletHistory(tenantId: string, walletId: string, opts: { limit: number }): Promise<PaymentView[]>
  merchantPayments(tenantId: string, merchantId: string, opts: { limit: number }): Promise<PaymentView[]>
  /** The tenant's payments for its operator, newest first (held ones: soonest auto-approval first). */
  tenantPayments(tenantId: string, opts: PaymentFilter): Promise<PaymentView[]>
}

/** What an operator filters payments by. */
export interface PaymentFilter {
  status?: PaymentStatus | undefined
  merchantId?: string | undefined
  deviceId?: string | undefined
  limit: number
}

/** One SMS as the sandbox provider recorded it. */
export interface SmsRecord {
  id: string
  to: string
  body: string
  status: string
  createdAt: Date
}

/** The SMS outbox, as the API lists it for demos (sandbox provider only). */
export interface SmsPort {
  listSandbox(tenantId: string, opts: { limit: number }): Promise<SmsRecord[]>
}
