/**
 * The SMS port: how the bridge hands one text message to a provider. Implementations: the sandbox (stores
 * messages in a table, for demos and tests) and a Twilio-compatible HTTP provider. Domain code never calls a
 * provider directly: it enqueues into the outbox inside its business transaction, and the outbox worker sends.
 */

/** One message to send. */
export interface SmsMessage {
  /** The tenant on whose behalf it is sent (sandbox rows and the outbox are per tenant). */
  tenantId: string
  /** Destination number, E.164 (`+15551234567`). */
  to: string
  text: string
  /** Same key → same message: the outbox and providers that support it deliver it once. */
  idempotencyKey: string
}

/** What a provider returns for an accepted message. */
export interface SmsReceipt {
  providerId: string
}

/** A provider of text messages. */
export interface SmsProvider {
  readonly name: string
  /** Hand the message over; throws SmsError (retryable or not) when the provider does not take it. */
  send(msg: SmsMessage): Promise<SmsReceipt>
}

/** Stable codes of SMS errors. */
export type SmsErrorCode =
  /** The provider is down, overloaded (429) or unreachable: try again later. */
  | 'provider_unavailable'
  /** The provider refused the message (4xx): retrying will not help. */
  | 'rejected'
  /** The message itself is malformed (bad number, empty text). */
  | 'bad_message'

/** An error of an SMS provider. `retryable` tells the outbox whether to back off and retry. */
export class SmsError extends Error {
  override readonly name = 'SmsError'
  readonly code: SmsErrorCode
  readonly retryable: boolean
  /** HTTP status when the provider answered. */
  readonly status: number | undefined
  /** The provider asked to wait this long (Retry-After). */
  readonly retryAfterMs: number | undefined
  constructor(
    code: SmsErrorCode,
    message: string,
    opts: { status?: number; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined)
    this.code = code
    this.retryable = code === 'provider_unavailable'
    this.status = opts.status
    this.retryAfterMs = opts.retryAfterMs
  }
}

/** True when `err` is an SmsError, optionally with the given code. */
export function isSmsError(err: unknown, code?: SmsErrorCode): err is SmsError {
  return err instanceof SmsError && (code === undefined || err.code === code)
}

const E164 = /^\+[1-9]\d{6,14}$/

/** Check a message before it is queued or sent. */
export function checkMessage(msg: SmsMessage): void {
  if (!E164.test(msg.to)) throw new SmsError('bad_message', 'destination must be an E.164 number (+country…)')
  if (typeof msg.text !== 'string' || msg.text.length === 0 || msg.text.length > 1600) {
    throw new SmsError('bad_message', 'text must be 1–1600 characters')
  }
  if (
    typeof msg.idempotencyKey !== 'string' ||
    msg.idempotencyKey.length < 1 ||
    msg.idempotencyKey.length > 200
  ) {
    throw new SmsError('bad_message', 'idempotencyKey must be 1–200 characters')
  }
}
