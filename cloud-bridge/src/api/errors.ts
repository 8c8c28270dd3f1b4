/**
 * The bridge's own error type and the one table mapping every error code (the bridge's and the protocol's)
 * to an HTTP status. The HTTP layer sends `{ error: { code, message } }` where the message is the fixed
 * public text for the code, never the thrown error's message or stack.
 */
import { type ErrorCode, isProtocolError } from '@opg/protocol'
import { sqlState } from '../db/errors.js'
import { isLedgerError } from '../ledger/errors.js'
import { isOnlineError, ONLINE_STATUS } from '../online/errors.js'

/** Stable codes of the bridge's own errors. Clients switch on these. */
export const BRIDGE_ERROR_CODES = [
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'invalid_request',
  'malformed_json',
  'payload_too_large',
  'unsupported_media_type',
  'method_not_allowed',
  'insufficient_funds',
  'wallet_frozen',
  'counter_exhausted',
  'claim_closed',
  'claim_not_allowed',
  'device_revoked',
  'not_configured',
  'rate_limited',
  'internal',
] as const

export type BridgeErrorCode = (typeof BRIDGE_ERROR_CODES)[number]

/** An error of the bridge with a stable `code`; wrap causes with `{ cause }`. */
export class BridgeError extends Error {
  override readonly name = 'BridgeError'
  readonly code: BridgeErrorCode
  constructor(code: BridgeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/** True when `err` is a BridgeError, optionally with the given code. */
export function isBridgeError(err: unknown, code?: BridgeErrorCode): err is BridgeError {
  return err instanceof BridgeError && (code === undefined || err.code === code)
}

const BRIDGE_STATUS: Record<BridgeErrorCode, number> = {
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  invalid_request: 400,
  malformed_json: 400,
  payload_too_large: 413,
  unsupported_media_type: 415,
  method_not_allowed: 405,
  insufficient_funds: 409,
  wallet_frozen: 409,
  counter_exhausted: 409,
  claim_closed: 409,
  claim_not_allowed: 409,
  device_revoked: 409,
  not_configured: 503,
  rate_limited: 429,
  internal: 500,
}

/** Public text per code: what a client may read. Internal detail stays in the logs. */
const BRIDGE_TEXT: Record<BridgeErrorCode, string> = {
  unauthorized: 'missing or invalid API key',
  forbidden: 'this key may not do that',
  not_found: 'no such resource',
  conflict: 'the resource already exists or changed',
  invalid_request: 'the request does not match the schema',
  malformed_json: 'the request body is not valid JSON',
  payload_too_large: 'the request body is too large',
  unsupported_media_type: 'send application/json',
  method_not_allowed: 'method not allowed',
  insufficient_funds: 'the wallet balance is too low',
  wallet_frozen: 'the wallet is frozen',
  counter_exhausted: 'the wallet has used up its counter space',
  claim_closed: 'the claim is already resolved',
  claim_not_allowed: 'this payment cannot be claimed',
  device_revoked: 'the box is revoked: it takes no more commands',
  not_configured: 'the bridge is not configured for this',
  rate_limited: 'too many requests or failed authentications; retry after the Retry-After seconds',
  internal: 'internal error',
}

/** Public text of the online payment codes. */
const ONLINE_TEXT: Record<keyof typeof ONLINE_STATUS, string> = {
  invoice_not_found: 'no such invoice',
  invoice_paid: 'the invoice is already paid or a payment of it is in progress',
  invoice_expired: 'the invoice has expired',
  payment_not_found: 'no such payment',
  payout_not_found: 'no such payout',
  idempotency_conflict: 'this idempotency key was used for another request',
  card_declined: 'the card was declined',
  expired_card: 'the card has expired',
  insufficient_funds: 'insufficient funds',
  provider_unavailable: 'the card provider is unavailable; retry with the same idempotency key',
  wallet_frozen: 'the wallet is frozen',
  unknown_party: 'no such merchant, device or wallet',
  bad_schedule: 'invalid payout schedule: frequency daily, weekly or manual; runHour 0–23; an IANA time zone',
  currency_mismatch: 'the amount is not in the currency of the wallet, invoice or tenant',
  topup_limit_exceeded: 'this top-up would pass the daily top-up limit of the wallet or the tenant',
  duplicate_reference: 'the merchant already has an invoice with this reference',
}

/** Protocol errors are the client's fault (a bad token, a bad key): 422, except framing (400). */
const PROTOCOL_400: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'bad_prefix',
  'bad_encoding',
  'bad_version',
  'bad_type',
  'bad_length',
  'truncated',
  'trailing_bytes',
  'bad_field',
])

/** The public shape of any error response. */
export interface ErrorBody {
  error: { code: string; message: string }
}

/**
 * Database refusals that only client input can cause, as bridge codes — the one place they are mapped, so a
 * route that forgets a check answers a typed 4xx, never a 500:
 * - 23505 unique violation → conflict (a second object with the same natural key);
 * - 23503 foreign key violation → not_found (the referenced object does not exist in the tenant);
 * - 22021 / 22P05 a NUL character (PostgreSQL text cannot hold U+0000), 22001 a value too long, 22P02 text
 *   the database cannot read as its type (PGlite's answer to a lone UTF-16 surrogate inside jsonb, where
 *   PostgreSQL says 22P05) → invalid_request.
 * Anything else (23514 check violations included: the ledger's balance trigger raises it) stays a 500.
 */
const SQLSTATE_CODES: Record<string, BridgeErrorCode> = {
  '23505': 'conflict',
  '23503': 'not_found',
  '22021': 'invalid_request',
  '22P05': 'invalid_request',
  '22001': 'invalid_request',
  '22P02': 'invalid_request',
}

/** Map any thrown value to an HTTP status and a body that is safe to send. */
export function toErrorResponse(err: unknown): { status: number; body: ErrorBody } {
  if (isBridgeError(err)) {
    return {
      status: BRIDGE_STATUS[err.code],
      body: { error: { code: err.code, message: BRIDGE_TEXT[err.code] } },
    }
  }
  if (isOnlineError(err)) {
    return {
      status: ONLINE_STATUS[err.code],
      body: { error: { code: err.code, message: ONLINE_TEXT[err.code] } },
    }
  }
  if (isLedgerError(err, 'insufficient_funds'))
    return toErrorResponse(new BridgeError('insufficient_funds', 'ledger'))
  if (isProtocolError(err)) {
    const status = err.code === 'oversized' ? 413 : PROTOCOL_400.has(err.code) ? 400 : 422
    return { status, body: { error: { code: err.code, message: `protocol error: ${err.code}` } } }
  }
  const state = sqlState(err)
  const mapped = state === undefined ? undefined : SQLSTATE_CODES[state]
  if (mapped) return toErrorResponse(new BridgeError(mapped, `database refused: ${state}`, { cause: err }))
  return { status: 500, body: { error: { code: 'internal', message: BRIDGE_TEXT.internal } } }
}

/** The bridge code for a bare HTTP status raised by a framework layer (validator, body limit, router). */
export function codeForStatus(status: number): BridgeErrorCode {
  switch (status) {
    case 400:
      return 'malformed_json'
    case 401:
      return 'unauthorized'
    case 403:
      return 'forbidden'
    case 404:
      return 'not_found'
    case 405:
      return 'method_not_allowed'
    case 413:
      return 'payload_too_large'
    case 415:
      return 'unsupported_media_type'
    default:
      return 'internal'
  }
}
