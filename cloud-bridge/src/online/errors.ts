/** Errors of the online payments module, with stable codes the HTTP layer maps to statuses. */
export const ONLINE_ERROR_CODES = [
  'invoice_not_found',
  'invoice_paid',
  'invoice_expired',
  'payment_not_found',
  'payout_not_found',
  'idempotency_conflict',
  'card_declined',
  'expired_card',
  'insufficient_funds',
  'provider_unavailable',
  'wallet_frozen',
  'unknown_party',
  'bad_schedule',
  'currency_mismatch',
  'topup_limit_exceeded',
  'duplicate_reference',
] as const
export type OnlineErrorCode = (typeof ONLINE_ERROR_CODES)[number]

export class OnlineError extends Error {
  override readonly name = 'OnlineError'
  constructor(
    readonly code: OnlineErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

export function isOnlineError(err: unknown, code?: OnlineErrorCode): err is OnlineError {
  return err instanceof OnlineError && (code === undefined || err.code === code)
}

/** HTTP status of each code. */
export const ONLINE_STATUS: Record<OnlineErrorCode, number> = {
  invoice_not_found: 404,
  invoice_paid: 409,
  invoice_expired: 409,
  payment_not_found: 404,
  payout_not_found: 404,
  idempotency_conflict: 409,
  card_declined: 402,
  expired_card: 402,
  insufficient_funds: 409,
  provider_unavailable: 503,
  wallet_frozen: 409,
  unknown_party: 404,
  bad_schedule: 400,
  currency_mismatch: 422,
  topup_limit_exceeded: 422,
  duplicate_reference: 409,
}
