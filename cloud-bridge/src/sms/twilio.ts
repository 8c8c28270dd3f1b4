/**
 * A Twilio-compatible HTTP SMS provider: POST {baseUrl}/2010-04-01/Accounts/{sid}/Messages.json with a
 * form-encoded To/From/Body and basic auth (account SID : auth token). 201/200 with a `sid` → accepted;
 * 429 and 5xx → retryable (honouring Retry-After); other 4xx → rejected for good; network errors and
 * timeouts → retryable. The idempotency key goes out as an `Idempotency-Key` header for compatible
 * gateways; Twilio itself does not deduplicate message creation, so a send that timed out after Twilio
 * accepted it may arrive twice (delivery is at least once).
 */
import { checkMessage, SmsError, type SmsMessage, type SmsProvider, type SmsReceipt } from './provider.js'

/** Settings of the Twilio-compatible provider. */
export interface TwilioOptions {
  /** Default https://api.twilio.com. */
  baseUrl?: string
  accountSid: string
  authToken: string
  /** Sender number (E.164) or messaging service sender. */
  from: string
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number
  /** The fetch to use (default the global one). */
  fetch?: typeof fetch
}

function retryAfter(h: string | null): number | undefined {
  if (!h) return undefined
  const s = Number(h)
  if (Number.isFinite(s) && s >= 0) return Math.min(s, 3600) * 1000
  const at = Date.parse(h)
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now())
}

/** Sends through a Twilio-compatible REST API. */
export class TwilioSmsProvider implements SmsProvider {
  readonly name = 'twilio'
  readonly #opts: TwilioOptions

  constructor(opts: TwilioOptions) {
    this.#opts = opts
  }

  async send(msg: SmsMessage): Promise<SmsReceipt> {
    checkMessage(msg)
    const o = this.#opts
    const url = `${(o.baseUrl ?? 'https://api.twilio.com').replace(/\/+$/, '')}/2010-04-01/Accounts/${encodeURIComponent(o.accountSid)}/Messages.json`
    const auth = Buffer.from(`${o.accountSid}:${o.authToken}`, 'utf8').toString('base64')
    let res: Response
    try {
      res = await (o.fetch ?? fetch)(url, {
        method: 'POST',
        headers: {
          authorization: `Basic ${auth}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          'idempotency-key': msg.idempotencyKey,
        },
        body: new URLSearchParams({ To: msg.to, From: o.from, Body: msg.text }).toString(),
        signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
      })
    } catch (err) {
      throw new SmsError('provider_unavailable', 'SMS provider unreachable or timed out', { cause: err })
    }
    const text = await res.text().catch(() => '')
    let body: { sid?: unknown; code?: unknown; message?: unknown } = {}
    try {
      body = text ? (JSON.parse(text) as typeof body) : {}
    } catch {
      // A proxy's HTML error page: the status code alone decides.
    }
    if (res.status === 200 || res.status === 201) {
      if (typeof body.sid !== 'string' || body.sid === '') {
        throw new SmsError('provider_unavailable', 'SMS provider answered without a message sid', {
          status: res.status,
        })
      }
      return { providerId: body.sid }
    }
    const detail =
      typeof body.code === 'number' || typeof body.code === 'string' ? ` (provider code ${body.code})` : ''
    if (res.status === 429 || res.status >= 500) {
      const ra = retryAfter(res.headers.get('retry-after'))
      throw new SmsError('provider_unavailable', `SMS provider answered ${res.status}${detail}`, {
        status: res.status,
        ...(ra !== undefined ? { retryAfterMs: ra } : {}),
      })
    }
    throw new SmsError('rejected', `SMS provider refused the message: ${res.status}${detail}`, {
      status: res.status,
    })
  }
}
