/**
 * The sandbox payment provider: behaves like a real provider in test mode. Test tokens decide the outcome;
 * charges are idempotent by key; confirmation arrives later as a signed webhook delivered to `deliver`
 * (in the running bridge, an HTTP POST to its own webhook route; in tests, whatever the test wants).
 *
 * | token                  | funding | outcome              |
 * |------------------------|---------|----------------------|
 * | tok_visa               | credit  | succeeded            |
 * | tok_visa_debit         | debit   | succeeded            |
 * | tok_card_declined      | credit  | card_declined        |
 * | tok_insufficient_funds | debit   | insufficient_funds   |
 * | tok_expired_card       | credit  | expired_card         |
 * Any other token is declined. `setOutage(true)` makes charge() fail with provider_unavailable.
 */
import { randomBytes } from 'node:crypto'
import {
  type ChargeFailure,
  type ChargeRequest,
  type ChargeResult,
  type Funding,
  type PaymentProvider,
  ProviderError,
  type ProviderEvent,
  signWebhook,
} from './provider.js'

const TOKENS: Record<string, { funding: Funding; failure?: ChargeFailure }> = {
  tok_visa: { funding: 'credit' },
  tok_visa_debit: { funding: 'debit' },
  tok_card_declined: { funding: 'credit', failure: 'card_declined' },
  tok_insufficient_funds: { funding: 'debit', failure: 'insufficient_funds' },
  tok_expired_card: { funding: 'credit', failure: 'expired_card' },
}

export interface SandboxProviderOptions {
  webhookSecret: string
  /** Receives each signed webhook (body and signature header). */
  deliver: (body: string, signature: string) => Promise<void>
  /** Delay before the webhook is sent, ms (default 0: next tick). */
  confirmDelayMs?: number
  now?: () => number
  /** A webhook the bridge refused or could not take (a real provider would retry it). */
  onError?: (err: unknown) => void
}

export class SandboxProvider implements PaymentProvider {
  readonly name = 'sandbox'
  /** The sandbox only ever moves test money. */
  readonly testMode = true
  private readonly byKey = new Map<string, ChargeResult>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private outage = false
  /** Webhooks sent, for tests and the demo. */
  readonly sent: ProviderEvent[] = []

  constructor(private readonly opts: SandboxProviderOptions) {}

  setOutage(on: boolean): void {
    this.outage = on
  }

  async charge(req: ChargeRequest): Promise<ChargeResult> {
    if (this.outage) throw new ProviderError('provider_unavailable', 'sandbox provider outage')
    const seen = this.byKey.get(req.idempotencyKey)
    if (seen) return seen
    const card = TOKENS[req.token]
    const providerRef = `ch_${randomBytes(12).toString('hex')}`
    const result: ChargeResult = { providerRef, status: 'pending', funding: card?.funding ?? null }
    this.byKey.set(req.idempotencyKey, result)
    const failure: ChargeFailure | undefined = card ? card.failure : 'card_declined'
    const event: ProviderEvent = {
      id: `evt_${randomBytes(12).toString('hex')}`,
      type: failure ? 'charge.failed' : 'charge.succeeded',
      providerRef,
      reference: req.reference,
      funding: result.funding,
      ...(failure ? { failure } : {}),
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      void this.send(event)
    }, this.opts.confirmDelayMs ?? 0)
    this.timers.add(timer)
    return result
  }

  /** Send (or re-send, as providers do) a webhook for an event. */
  async send(event: ProviderEvent): Promise<void> {
    this.sent.push(event)
    const body = JSON.stringify(event)
    const nowS = Math.floor((this.opts.now?.() ?? Date.now()) / 1000)
    await this.opts
      .deliver(body, signWebhook(this.opts.webhookSecret, body, nowS))
      .catch((err) => this.opts.onError?.(err))
  }

  /** Cancel pending webhooks. */
  stop(): void {
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
  }
}
