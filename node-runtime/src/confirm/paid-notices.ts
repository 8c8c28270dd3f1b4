/**
 * "Paid online" confirmations to the box (seed case 3). When a customer pays one of the box's invoices online
 * while the box has no data link, the bridge sends `OPG1 PAID <ref> <amount> <currency> <counter> <tag>`
 * (SPEC.md §9) to the box's modem; when the box is connected it sends an `invoice_paid` command on MQTT
 * `down/cmd` instead (sealed with the MQTT key). Both carry the same per-device counter, so a notice that
 * arrives by both paths is recorded once.
 *
 * For each notice: authenticate (SMS tag), refuse a counter already taken (counter-window.ts), journal it in
 * the vault (fsync), persist the counter window, and only then light the green LED and beep. Every refusal
 * is logged at warn; texts that are not ours at all (operator messages, balance alerts) at debug.
 * Notices are handled one at a time, so the same notice by SMS and MQTT at once cannot both pass the check.
 */
import {
  type Bytes,
  type CryptoBackend,
  type ErrorCode,
  isProtocolError,
  type PaidSms,
  ProtocolError,
  parsePaidSms,
} from '@opg/protocol'
import type { ClockPort, SignalPort } from '../accept/ports.js'
import { type Gpio, signalAccepted } from '../bindings/gpio/index.js'
import type { Modem, SmsMessage } from '../bindings/modem/index.js'
import { isVaultError, type NoticeRecord, type Vault } from '../vault/types.js'
import { type CounterStore, CounterWindow, DEFAULT_WINDOW } from './counter-window.js'

/** A recorded confirmation: the vault's notice record. */
export type Confirmation = NoticeRecord

/** Why a notice was refused: a protocol code from parsing/verifying, or one of the service's own. */
export type RefusalCode =
  | ErrorCode
  /** Authentic and fresh, but the vault already holds a notice for this invoice reference. */
  | 'duplicate_ref'
  /** The vault could not store it; nothing was signalled, a re-delivery may succeed. */
  | 'storage_failed'
  /** The service is not running. */
  | 'stopped'

/** What became of one SMS or command. */
export type NoticeOutcome =
  | { status: 'confirmed'; confirmation: Confirmation }
  | { status: 'refused'; code: RefusalCode; message: string }
  /** An SMS that is not an opg message at all. */
  | { status: 'ignored' }

/** An `invoice_paid` command as the sync layer hands it over (already opened and schema-checked). */
export interface InvoicePaidCommand {
  ref: string
  amount: number
  currency: string
  counter: number
}

/** pino's shape; `debug` is optional so the node's smaller logger fits. */
export interface ConfirmLogger {
  debug?(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

/** The two vault operations the service uses. */
export type NoticeJournal = Pick<Vault, 'append' | 'notices'>

/** Stable codes of `ConfirmError`. */
export type ConfirmErrorCode = 'state_unavailable'

/** Errors of the confirmation service. */
export class ConfirmError extends Error {
  override readonly name = 'ConfirmError'
  constructor(
    readonly code: ConfirmErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

export interface PaidNoticesOptions {
  c: CryptoBackend
  /** Incoming SMS; optional (a box without a modem still takes MQTT notices). Start the service first. */
  modem?: Modem
  /** Green LED and beep on each confirmation. */
  gpio?: Gpio
  /** Instead of `gpio`: the node's signal port (its `accepted` is called with the invoice reference). */
  signal?: Pick<SignalPort, 'accepted'>
  vault: NoticeJournal
  /** Where the counter window survives reboots: `stateCounterStore(state)` on a box. */
  counters: CounterStore
  deviceId: string
  /** deriveKey(c, deviceSecret, 'sms', id8ToBytes(deviceId)). */
  smsKey: Bytes
  /** Trusted time, for `receivedAt`. */
  clock: ClockPort
  log?: ConfirmLogger
  /** Counter window size (default 1024). */
  windowSize?: number
}

/** What `opg-node status` shows about confirmations. */
export interface ConfirmReport {
  /** Newest first. */
  recent: Confirmation[]
  refused: number
  lastRefusal?: { code: RefusalCode; via: 'sms' | 'mqtt'; at: number }
}

const REF = /^[A-Za-z0-9-]{1,32}$/
const silent: ConfirmLogger = { info() {}, warn() {}, error() {} }

/** The confirmation service. Constructor assigns; `start()` loads the counter window and listens to the modem. */
export class PaidNotices {
  readonly #o: PaidNoticesOptions
  readonly #log: ConfirmLogger
  readonly #listeners = new Set<(c: Confirmation) => void>()
  #window: CounterWindow | undefined
  #chain: Promise<unknown> = Promise.resolve()
  #running = false
  #offSms: (() => void) | undefined
  #refused = 0
  #lastRefusal: ConfirmReport['lastRefusal']

  constructor(o: PaidNoticesOptions) {
    this.#o = o
    this.#log = o.log ?? silent
  }

  /**
   * Load the counter window (the stored one, plus every counter the vault still holds, in case the box died
   * between the journal write and the window write) and subscribe to the modem. Subscribing happens at once,
   * so messages a modem sweeps off the SIM at its own start wait behind the load instead of being missed.
   */
  async start(): Promise<void> {
    if (this.#running) return
    this.#running = true
    this.#window = undefined
    // Resolving lets the modem delete the SMS from the SIM, so it resolves only once the notice is on flash (or was
    // refused for good); a storage failure keeps the SMS on the SIM for the next start's sweep.
    this.#offSms = this.#o.modem?.onSms(async (sms) => {
      const outcome = await this.handleSms(sms)
      if (outcome.status === 'refused' && outcome.code === 'storage_failed') {
        throw new Error('notice not stored; the SMS stays on the SIM')
      }
    })
    const load = this.#load()
    this.#chain = load.catch(() => {})
    try {
      await load
    } catch (err) {
      this.#offSms?.()
      this.#offSms = undefined
      this.#running = false
      throw err
    }
  }

  /** Stop listening and wait for the notice in progress. */
  async stop(): Promise<void> {
    if (!this.#running) return
    this.#running = false
    this.#offSms?.()
    this.#offSms = undefined
    await this.#chain
  }

  /** Resolves once every notice handed over so far has been handled. */
  async idle(): Promise<void> {
    await this.#chain
  }

  /** Subscribe to recorded confirmations (called after the record is durable); returns the unsubscribe. */
  onConfirmed(fn: (c: Confirmation) => void): () => void {
    this.#listeners.add(fn)
    return () => this.#listeners.delete(fn)
  }

  /** Recorded confirmations, newest first (what the vault still holds). */
  recent(limit = 10): Confirmation[] {
    return this.#o.vault
      .notices()
      .sort((a, b) => b.receivedAt - a.receivedAt || b.counter - a.counter)
      .slice(0, limit)
  }

  report(limit = 10): ConfirmReport {
    return {
      recent: this.recent(limit),
      refused: this.#refused,
      ...(this.#lastRefusal ? { lastRefusal: { ...this.#lastRefusal } } : {}),
    }
  }

  /** One incoming SMS. */
  handleSms(sms: Pick<SmsMessage, 'from' | 'text'>): Promise<NoticeOutcome> {
    const text = typeof sms.text === 'string' ? sms.text : ''
    // Anything that does not even start like an opg message is an ordinary SMS; a cut-off "OPG1 PA" is ours.
    if (!text.trimStart().startsWith('OPG1')) {
      this.#log.debug?.({ from: sms.from, length: text.length }, 'SMS ignored: not an opg message')
      return Promise.resolve({ status: 'ignored' })
    }
    return this.#serial('sms', async () => {
      let paid: PaidSms
      try {
        paid = parsePaidSms(this.#o.c, this.#o.smsKey, this.#o.deviceId, text)
      } catch (err) {
        const code: ErrorCode = isProtocolError(err) ? err.code : 'bad_encoding'
        return this.#refuse('sms', code, err instanceof Error ? err.message : String(err), {
          from: sms.from,
          text: text.slice(0, 200),
        })
      }
      return this.#take(paid, 'sms', { from: sms.from })
    })
  }

  /** One `invoice_paid` command from MQTT `down/cmd` (authenticated by the sealed channel). */
  handleCommand(cmd: InvoicePaidCommand): Promise<NoticeOutcome> {
    return this.#serial('mqtt', async () => {
      const paid = { ref: cmd.ref, amount: cmd.amount, currency: cmd.currency, counter: cmd.counter }
      try {
        checkNotice(paid)
      } catch (err) {
        return this.#refuse('mqtt', isProtocolError(err) ? err.code : 'bad_field', String(err), {})
      }
      return this.#take(paid, 'mqtt', {})
    })
  }

  async #load(): Promise<void> {
    let stored: Awaited<ReturnType<CounterStore['load']>>
    try {
      stored = await this.#o.counters.load()
    } catch (err) {
      throw new ConfirmError('state_unavailable', 'cannot read the notice counter window', { cause: err })
    }
    const w = CounterWindow.from(stored, this.#o.windowSize ?? DEFAULT_WINDOW)
    let merged = 0
    for (const n of this.#o.vault.notices()) if (w.add(n.counter)) merged++
    this.#window = w
    if (merged > 0) {
      // The journal had notices the window had not caught up with (a crash between the two writes).
      await this.#saveWindow()
      this.#log.info({ merged }, 'notice counters restored from the vault')
    }
  }

  #serial(via: 'sms' | 'mqtt', fn: () => Promise<NoticeOutcome>): Promise<NoticeOutcome> {
    // Logged, so a notice that came while the service was down can be found and asked for again.
    if (!this.#running) return Promise.resolve(this.#refuse(via, 'stopped', 'service is not running', {}))
    // A window that failed to load means no replay check is possible: refuse rather than guess.
    const step = async (): Promise<NoticeOutcome> =>
      this.#window ? fn() : this.#refuse(via, 'stopped', 'counter window not loaded', {})
    const run = this.#chain.then(step, step)
    this.#chain = run.catch(() => {})
    return run
  }

  async #take(paid: PaidSms, via: 'sms' | 'mqtt', ctx: object): Promise<NoticeOutcome> {
    const w = this.#window!
    const verdict = w.check(paid.counter)
    if (verdict !== 'fresh') {
      const message =
        verdict === 'seen'
          ? `counter ${paid.counter} already taken`
          : `counter ${paid.counter} is below the window (highest ${w.high})`
      return this.#refuse(via, 'replay', message, { ...ctx, ...paid, window: verdict })
    }
    const rec: NoticeRecord = { kind: 'notice', ...paid, via, receivedAt: Math.floor(this.#o.clock.now()) }
    try {
      await this.#o.vault.append(rec)
    } catch (err) {
      if (isVaultError(err, 'duplicate_notice')) {
        // Authentic and fresh, so the bridge really sent it: keep the counter taken, but the vault holds one
        // notice per reference.
        w.add(paid.counter)
        await this.#saveWindow()
        return this.#refuse(via, 'duplicate_ref', `a notice for ${paid.ref} is already recorded`, {
          ...ctx,
          ...paid,
        })
      }
      this.#log.error({ err, via, ...paid }, 'notice could not be stored')
      return this.#refuse(via, 'storage_failed', 'the vault did not store the notice', { ...ctx, ...paid })
    }
    w.add(paid.counter)
    await this.#saveWindow()
    this.#log.info({ via, ...ctx, ...paid }, 'invoice paid online: confirmation recorded')
    await this.#signal(paid)
    for (const l of [...this.#listeners]) {
      try {
        l({ ...rec })
      } catch (err) {
        this.#log.error({ err }, 'confirmation listener failed')
      }
    }
    return { status: 'confirmed', confirmation: { ...rec } }
  }

  /** The vault is the record of truth; a failed window write is repaired from it at the next start. */
  async #saveWindow(): Promise<void> {
    try {
      await this.#o.counters.save(this.#window!.snapshot())
    } catch (err) {
      this.#log.error({ err }, 'notice counter window not saved; the vault still holds the notice')
    }
  }

  async #signal(paid: PaidSms): Promise<void> {
    const { gpio, signal } = this.#o
    try {
      if (gpio) signalAccepted(gpio)
      else await signal?.accepted({ txId: paid.ref, amount: paid.amount, currency: paid.currency })
    } catch (err) {
      // The confirmation is stored; a GPIO fault does not undo it.
      this.#log.error({ err }, 'could not signal the confirmation')
    }
  }

  #refuse(via: 'sms' | 'mqtt', code: RefusalCode, message: string, ctx: object): NoticeOutcome {
    this.#refused++
    this.#lastRefusal = { code, via, at: this.#o.clock.now() }
    this.#log.warn({ via, code, ...ctx }, `payment confirmation refused: ${message}`)
    return { status: 'refused', code, message }
  }
}

function checkNotice(m: InvoicePaidCommand): void {
  const ok =
    typeof m.ref === 'string' &&
    REF.test(m.ref) &&
    Number.isSafeInteger(m.amount) &&
    m.amount > 0 &&
    typeof m.currency === 'string' &&
    /^[A-Z]{3}$/.test(m.currency) &&
    Number.isInteger(m.counter) &&
    m.counter >= 0 &&
    m.counter <= 0xffffffff
  if (!ok) throw new ProtocolError('bad_field', 'malformed invoice_paid command')
}
