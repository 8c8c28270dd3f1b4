/**
 * The payment-provider port: how the bridge charges a card or debit card. The bridge only ever sees provider
 * tokens (the card number goes from the customer's device straight to the provider), so PCI DSS scope stays
 * with the provider. Charges confirm asynchronously through a signed webhook, as real providers do.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'

export type Funding = 'credit' | 'debit'

export type ChargeFailure = 'card_declined' | 'insufficient_funds' | 'expired_card' | 'provider_unavailable'

export interface ChargeRequest {
  /** A provider token for the card (never a card number). */
  token: string
  amount: bigint
  currency: string
  /** The provider deduplicates by this key: a retried request never charges twice. */
  idempotencyKey: string
  /** Echoed back in the webhook (providers call it metadata): how the bridge finds its payment. */
  reference: string
  description: string
}

export interface ChargeResult {
  providerRef: string
  /** 'pending' until the provider's webhook says succeeded or failed. */
  status: 'pending' | 'succeeded' | 'failed'
  funding: Funding | null
  failure?: ChargeFailure
}

/** A webhook event from the provider, after its signature has been checked. */
export interface ProviderEvent {
  id: string
  type: 'charge.succeeded' | 'charge.failed'
  providerRef: string
  /**
   * The `reference` of the charge request, echoed by the provider as charge metadata: "<tenant>:<payment>".
   * It is how the webhook names its tenant (see `eventTarget`); the provider's own `providerRef` is unique only
   * within that tenant.
   */
  reference: string
  funding: Funding | null
  failure?: ChargeFailure
}

/**
 * The port a card provider adapter implements (see README "Payment provider adapters"). `testMode` is the
 * provider's own word on whether its charges move real money, like a PSP's test and live keys: every payment a
 * test-mode provider's bridge makes is marked test and never enters a live payout batch.
 */
export interface PaymentProvider {
  readonly name: string
  readonly testMode: boolean
  charge(req: ChargeRequest): Promise<ChargeResult>
}

/**
 * Why a charge or a webhook was refused. The webhook route answers each with its status in `WEBHOOK_STATUS`
 * (never a 5xx, so a provider's retry logic sees a refusal, not an outage).
 */
export type ProviderErrorCode =
  | 'provider_unavailable'
  | 'bad_signature'
  | 'stale_event'
  | 'bad_event'
  /** The event's reference names a tenant this bridge does not have. */
  | 'unknown_tenant'
  /** The tenant exists but has no card payment with the referenced id. */
  | 'unknown_payment'
  /** The referenced payment was charged under another provider reference (the event is not about it). */
  | 'charge_mismatch'

/** HTTP status of each refusal at POST /webhooks/provider. */
export const WEBHOOK_STATUS: Record<Exclude<ProviderErrorCode, 'provider_unavailable'>, 400 | 404 | 409> = {
  bad_signature: 400,
  stale_event: 400,
  bad_event: 400,
  unknown_tenant: 404,
  unknown_payment: 404,
  charge_mismatch: 409,
}

export class ProviderError extends Error {
  override readonly name = 'ProviderError'
  constructor(
    readonly code: ProviderErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** The tenant and payment a webhook event is about, from the metadata the bridge gave the charge. */
export function eventTarget(ev: Pick<ProviderEvent, 'reference'>): { tenantId: string; paymentId: string } {
  const m = /^([0-9a-f]{16}):([0-9a-f]{16})$/.exec(ev.reference)
  if (!m) throw new ProviderError('bad_event', 'the event reference is not "<tenant>:<payment>"')
  return { tenantId: m[1]!, paymentId: m[2]! }
}

/** Header value `t=<unix s>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`. */
export function signWebhook(secret: string, body: string, nowS: number): string {
  const mac = createHmac('sha256', secret).update(`${nowS}.${body}`).digest('hex')
  return `t=${nowS},v1=${mac}`
}

/** Check a webhook signature (constant-time) and its age; returns the parsed event. */
export function verifyWebhook(
  secret: string,
  body: string,
  header: string | undefined,
  nowS: number,
): ProviderEvent {
  const m = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(header ?? '')
  if (!m) throw new ProviderError('bad_signature', 'missing or malformed signature header')
  const t = Number(m[1])
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest()
  const given = Buffer.from(m[2]!, 'hex')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new ProviderError('bad_signature', 'webhook signature does not verify')
  }
  if (Math.abs(nowS - t) > 300) throw new ProviderError('stale_event', 'webhook timestamp outside tolerance')
  let ev: unknown
  try {
    ev = JSON.parse(body)
  } catch (cause) {
    throw new ProviderError('bad_event', 'webhook body is not JSON', { cause })
  }
  const e = ev as Partial<ProviderEvent>
  if (
    typeof e.id !== 'string' ||
    (e.type !== 'charge.succeeded' && e.type !== 'charge.failed') ||
    typeof e.providerRef !== 'string' ||
    typeof e.reference !== 'string' ||
    !/^[0-9a-f]{16}:[0-9a-f]{16}$/.test(e.reference)
  ) {
    throw new ProviderError('bad_event', 'webhook event has the wrong shape')
  }
  return {
    id: e.id,
    type: e.type,
    providerRef: e.providerRef,
    reference: e.reference,
    funding: e.funding ?? null,
    failure: e.failure,
  }
}
