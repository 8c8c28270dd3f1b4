/**
 * The one error type of the opg protocol. Every decoder, verifier and acceptance check throws or returns
 * a ProtocolError with a stable `code`; clients switch on the code, never on the message.
 */

/** Stable error codes. Adding a code is a protocol change: document it in SPEC.md §Errors. */
export const ERROR_CODES = [
  // framing and encoding
  'bad_prefix',
  'bad_encoding',
  'bad_version',
  'bad_type',
  'bad_length',
  'truncated',
  'trailing_bytes',
  'oversized',
  'bad_field',
  // cryptography
  'unknown_key',
  'bad_signature',
  'bad_tag',
  'bad_key',
  // validity in time
  'expired',
  'not_yet_valid',
  // payment rules (checked at the box and again at the bridge)
  'wrong_merchant',
  'wrong_device',
  'wrong_currency',
  'over_limit',
  'over_purse',
  'bad_counter',
  'replay',
  'revoked',
  'exposure_cap',
  'bad_challenge',
  'bad_chain',
  // two validly signed tokens of one wallet that cannot both be honoured (same tx id or counter, forked chain)
  'double_spend',
  // sessions and messages
  'bad_state',
  'bad_sequence',
  'timeout',
] as const

export type ErrorCode = (typeof ERROR_CODES)[number]

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError'
  readonly code: ErrorCode
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/** True when `err` is a ProtocolError, optionally with the given code. */
export function isProtocolError(err: unknown, code?: ErrorCode): err is ProtocolError {
  return err instanceof ProtocolError && (code === undefined || err.code === code)
}

/** Throw a ProtocolError unless `cond` holds. */
export function check(cond: unknown, code: ErrorCode, message: string): asserts cond {
  if (!cond) throw new ProtocolError(code, message)
}
