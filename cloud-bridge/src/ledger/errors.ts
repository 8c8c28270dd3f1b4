/** Errors of the ledger, with stable codes. */

/** Stable codes of ledger errors. */
export type LedgerErrorCode =
  /** A posting or entry is malformed (amount not a non-zero bigint, bad account, wrong tenant…). */
  | 'bad_posting'
  /** The postings of an entry do not sum to zero in some currency. */
  | 'unbalanced'
  /** A guarded account (wallet_available, purse_escrow, merchant_held) would go below zero. */
  | 'insufficient_funds'
  /** The ref was already posted with different postings. */
  | 'ref_conflict'
  /** post() was called outside a transaction. */
  | 'not_in_transaction'

/** An error raised by the ledger. `account` names the account at fault for insufficient_funds. */
export class LedgerError extends Error {
  override readonly name = 'LedgerError'
  readonly code: LedgerErrorCode
  readonly detail: Record<string, unknown>
  constructor(
    code: LedgerErrorCode,
    message: string,
    detail: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.code = code
    this.detail = detail
  }
}

/** True when `err` is a LedgerError, optionally with the given code. */
export function isLedgerError(err: unknown, code?: LedgerErrorCode): err is LedgerError {
  return err instanceof LedgerError && (code === undefined || err.code === code)
}
