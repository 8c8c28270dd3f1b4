/**
 * The mobile network of the local system: it watches the bridge's sandbox SMS provider and puts every
 * message addressed to a box's modem number on that box's simulated modem (which is how a box out of data
 * coverage still hears "invoice paid"). Messages to anyone else (payers, merchants' phones) stay in the
 * sandbox, readable at GET /v1/sandbox/sms. It reads the sandbox through a `source` function (the local stack
 * passes the sandbox provider's own listing, so polling does not fill the API's request log).
 */
/** The part of a modem binding the network needs (SimModem has it). */
export interface SmsReceiver {
  emitSms(from: string, text: string, receivedAt?: Date): void
}

/** A sandbox SMS as the API lists it. */
export interface SandboxSms {
  id: string
  to: string
  from: string
  body: string
  createdAt: string | Date
}

/** Newest first, as the sandbox lists them. */
export type SmsSource = () => Promise<SandboxSms[]>

export class SmsNetwork {
  readonly #source: SmsSource
  readonly #modems = new Map<string, SmsReceiver>()
  readonly #seen = new Set<string>()
  readonly #pollMs: number
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  readonly #watchers = new Set<(m: SandboxSms) => void>()

  constructor(o: { source: SmsSource; pollMs?: number }) {
    this.#source = o.source
    this.#pollMs = o.pollMs ?? 300
  }

  /** Attach a modem to a number (E.164). */
  attach(number: string, modem: SmsReceiver): void {
    this.#modems.set(number, modem)
  }

  /** Every new sandbox message, as it is seen; returns an unsubscribe function. */
  onMessage(fn: (m: SandboxSms) => void): () => void {
    this.#watchers.add(fn)
    return () => this.#watchers.delete(fn)
  }

  /** Start polling. Messages already in the sandbox count as delivered before this start. */
  async start(): Promise<void> {
    for (const m of await this.#list()) this.#seen.add(m.id)
    this.#schedule()
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#running
  }

  /** One poll now: deliver what is new. */
  async pollOnce(): Promise<SandboxSms[]> {
    const fresh = (await this.#list()).filter((m) => !this.#seen.has(m.id)).reverse()
    for (const m of fresh) {
      this.#seen.add(m.id)
      this.#modems.get(m.to)?.emitSms(m.from, m.body, new Date(m.createdAt))
      for (const w of [...this.#watchers]) w(m)
    }
    return fresh
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      this.#running = this.pollOnce()
        .catch(() => {})
        .then(() => {
          if (this.#timer !== undefined) this.#schedule()
        })
    }, this.#pollMs)
  }

  #list(): Promise<SandboxSms[]> {
    return this.#source()
  }
}
