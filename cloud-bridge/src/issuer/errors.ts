/** Errors of the issuer key store, with stable codes. */

/** Stable codes of issuer errors. */
export type IssuerErrorCode =
  /** The master key is missing or malformed (the bridge refuses to start without one). */
  | 'bad_master_key'
  /** A sealed secret did not open: wrong master key, or the row was tampered with or moved. */
  | 'unseal_failed'
  /** The tenant has no active issuer key: call initIssuer first. */
  | 'no_issuer'
  /** No such key id for the tenant. */
  | 'unknown_key'
  /** The active key cannot be retired: rotate first. */
  | 'active_key'
  /** A multi-statement change was attempted outside a transaction. */
  | 'not_in_transaction'

/** An error raised by the issuer key store. */
export class IssuerError extends Error {
  override readonly name = 'IssuerError'
  readonly code: IssuerErrorCode
  constructor(code: IssuerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/** True when `err` is an IssuerError, optionally with the given code. */
export function isIssuerError(err: unknown, code?: IssuerErrorCode): err is IssuerError {
  return err instanceof IssuerError && (code === undefined || err.code === code)
}
