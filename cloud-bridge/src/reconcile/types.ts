/**
 * Records and steps of offline-payment reconciliation. The planner reads records and a clock and returns steps;
 * the executor applies steps in one database transaction. Both sides speak only these plain types.
 * Times are milliseconds since the epoch on the bridge clock; amounts are integer minor units.
 */

/** Where a payment is in its life. */
export type PaymentState =
  /** Reported by the merchant box only; money sits in merchant_held until the payer syncs or the hold ends. */
  | 'held'
  /** The payer's own wallet log contains it: the merchant was credited at once. */
  | 'confirmed'
  /** The hold ended without a payer sync: the merchant was credited and the payer told by SMS. */
  | 'approved'
  /** The payer claims fraud: money sits in merchant_held until an operator decides. */
  | 'disputed'
  /** Operator sided with the payer: money went back to the wallet. */
  | 'reversed'
  /** Operator sided with the merchant: money went to the merchant wallet. */
  | 'upheld'
  /** A second token at a used counter, or beyond the purse: kept as proof, nothing paid. */
  | 'double_spend'
  /** Arrived after its purse's leftover went back to a wallet that no longer holds it: nothing paid, operator told. */
  | 'unfunded'

/** Which side delivered a token. */
export type Side = 'merchant' | 'payer'

/** A ledger account named by kind and owner (wallet id or merchant id). */
export type AccountKind = 'wallet_available' | 'purse_escrow' | 'merchant_held' | 'merchant_wallet'
export interface AccountRef {
  kind: AccountKind
  owner: string
}

/** A verified payment token reduced to the facts reconciliation needs. */
export interface TokenFacts {
  txId: string
  tenantId: string
  walletId: string
  merchantId: string
  deviceId: string
  amount: number
  currency: string
  counter: number
  /** The purse (wallet certificate) this token spends from. */
  purseId: string
  purseAmount: number
  /** Certificate expiry, ms: issuer-signed, so trusted. */
  purseExpiresAt: number
  token: Uint8Array
  /**
   * The token's identity: hex SHA-256 of its signed body (everything but the signature). Tells a true duplicate
   * (or a re-signed copy) from a different token reusing a tx id.
   */
  tokenHash: string
  /** The certificate's counter base: the purse reserves counters base+1 … base+purseAmount. */
  counterBase: number
  /** The token's previous hash (hex), its own chain link (hex tokenHash of its bytes), and the chain start. */
  prevHash: string
  link: string
  chainStart: string
}

/** A stored offline payment. */
export interface PaymentRecord {
  txId: string
  tenantId: string
  walletId: string
  merchantId: string
  deviceId: string
  purseId: string
  amount: number
  currency: string
  counter: number
  token: Uint8Array
  tokenHash: string
  state: PaymentState
  fundedFrom: 'escrow' | 'wallet' | 'none'
  firstReceivedAt: number
  merchantSeenAt: number | null
  payerSeenAt: number | null
  holdUntil: number | null
  settledAt: number | null
  claimUntil: number | null
  /** Previous hash and own chain link (hex), derived from `token` when loaded: for the chain check. */
  prevHash?: string
  link?: string
}

/** Why reconciliation refuses a validly signed token, and the proof kind it records. */
export type ProofKind =
  | 'same_counter'
  | 'over_purse'
  | 'same_tx_id'
  | 'tx_id_taken'
  | 'broken_chain'
  | 'counter_range'

/** Where a refused token's money stands (refused_tokens.settle_state). */
export type RefusedSettleState = 'none' | 'awaiting_box' | 'pending' | 'paid' | 'unfunded'

/** A refused token (refused_tokens row). */
export interface RefusedRecord {
  tenantId: string
  tokenId: string
  txId: string | null
  walletId: string | null
  merchantId: string | null
  deviceId: string | null
  purseId: string | null
  counter: number | null
  amount: number | null
  currency: string | null
  /** A protocol error code (the box's ack carries it) or an API code for wallet logs. */
  reason: string
  source: 'box' | 'wallet_log'
  receivedFrom: string
  valid: boolean
  proofOf: string | null
  proofOfTokenId: string | null
  token: Uint8Array
  receivedAt: number
  settleState: RefusedSettleState
}

/** A stored purse. */
export interface PurseRecord {
  purseId: string
  walletId: string
  tenantId: string
  currency: string
  purseAmount: number
  spent: number
  expiresAt: number
  releasedAt: number | null
}

/** A stored wallet (offline side). */
export interface WalletRecord {
  walletId: string
  tenantId: string
  frozenAt: number | null
}

/** Tunable rules. */
export interface ReconcileConfig {
  /** How long a merchant-only payment is held before auto-approval (default 72 h). */
  holdSeconds: number
  /** How long after auto-approval the payer may still claim fraud (default 14 days). */
  claimWindowSeconds: number
  /** How long after purse expiry late tokens may still arrive before the leftover is returned (default 72 h). */
  purseGraceSeconds: number
}

export const DEFAULT_RECONCILE_CONFIG: ReconcileConfig = {
  holdSeconds: 72 * 3600,
  claimWindowSeconds: 14 * 24 * 3600,
  purseGraceSeconds: 72 * 3600,
}

/** Why a token was refused or what became of it; the box learns this in its ack. */
export type ArrivalOutcome =
  | { txId: string; status: 'stored'; state: PaymentState }
  | { txId: string; status: 'duplicate'; state: PaymentState }
  | { txId: string; status: 'rejected'; code: string }
  /** Refused and kept (refused_tokens): the box is told the code and keeps the payment as refused. */
  | { txId: string; status: 'refused'; code: RefusalCode; proofOf: string | null }

/** Codes reconciliation refuses a validly signed token with (protocol error codes, SPEC.md §11). */
export type RefusalCode = 'double_spend' | 'bad_chain' | 'bad_counter' | 'over_purse' | 'replay'

/** Steps the executor applies, in order, in one transaction. */
export type Step =
  | { type: 'ensure_wallet'; walletId: string; tenantId: string }
  | { type: 'ensure_purse'; purse: PurseRecord }
  | { type: 'insert_payment'; payment: PaymentRecord }
  | { type: 'mark_seen'; tenantId: string; txId: string; side: Side; at: number }
  | {
      type: 'transition'
      tenantId: string
      txId: string
      from: PaymentState
      to: PaymentState
      at: number
      holdUntil?: number | null
      settledAt?: number | null
      claimUntil?: number | null
      /** For the claim record (the claims table, written in the same transaction); not stored on the payment. */
      claimReason?: string
      /** For the claim record, as claimReason. */
      resolvedBy?: string
    }
  | { type: 'purse_spent'; tenantId: string; purseId: string; delta: number }
  | {
      type: 'release_purse'
      tenantId: string
      purseId: string
      walletId: string
      amount: number
      currency: string
      at: number
    }
  | {
      type: 'transfer'
      tenantId: string
      from: AccountRef
      to: AccountRef
      amount: number
      currency: string
      /** Unique per tenant and movement (`offline:{txId}:{stage}`): the ledger refuses a second posting. */
      ref: string
      memo: string
    }
  | {
      type: 'record_proof'
      tenantId: string
      walletId: string
      kind: ProofKind
      honouredTxId: string | null
      honouredToken: Uint8Array | null
      refusedTxId: string
      refusedToken: Uint8Array
      refusedTokenId: string
      at: number
    }
  | { type: 'refuse_token'; refused: RefusedRecord }
  /** A refused token a box now delivered: a merchant holds its receipt, so the escrow rule owes it. */
  | { type: 'refused_owed'; tenantId: string; tokenId: string }
  | {
      type: 'settle_refused'
      tenantId: string
      tokenId: string
      paidEscrow: number
      paidWallet: number
      unfunded: number
      at: number
    }
  | { type: 'freeze_wallet'; tenantId: string; walletId: string; reason: string; at: number }
  | {
      type: 'alert'
      kind: string
      tenantId: string
      walletId?: string
      deviceId?: string
      txId?: string
      detail: Record<string, unknown>
      at: number
    }
  | {
      type: 'notify_payer'
      kind: 'auto_approved'
      tenantId: string
      walletId: string
      txId: string
      merchantId: string
      amount: number
      currency: string
      claimUntil: number
    }

/** A refused request (claim on the wrong state, unknown payment…), with a stable code. */
export class ReconcileError extends Error {
  override readonly name = 'ReconcileError'
  readonly code: ReconcileErrorCode
  constructor(code: ReconcileErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

export type ReconcileErrorCode =
  | 'not_found'
  | 'not_claimable'
  | 'claim_window_closed'
  | 'already_disputed'
  | 'not_disputed'
  | 'wrong_wallet'
