/**
 * The cellular modem as the rest of the node sees it: registration, signal, incoming SMS as events, outgoing SMS.
 * The box uses it for `OPG1 PAID …` confirmations when it has no data link, so incoming SMS are delivered
 * at least once (a message is deleted from the SIM only after listeners saw it).
 */

/** An SMS received by the modem. */
export interface SmsMessage {
  /** Sender address as the network gave it, e.g. "+4915112345678". */
  from: string
  text: string
  /** Network (service-centre) time when the modem reported one, else the local clock at reading. */
  receivedAt: Date
}

/** Network registration as AT+CREG reports it. */
export type RegistrationState = 'not-registered' | 'home' | 'searching' | 'denied' | 'unknown' | 'roaming'

/** Signal quality from AT+CSQ. */
export interface SignalQuality {
  /** Raw RSSI index 0..31, or 99 when unknown. */
  rssi: number
  /** Received power in dBm, or null when unknown. */
  dbm: number | null
  /** 0..4 bars for the merchant's display. */
  bars: 0 | 1 | 2 | 3 | 4
}

/** Link state reported to status listeners. */
export type ModemStatus = 'starting' | 'ready' | 'recovering' | 'stopped'

/** The modem binding: real (`SerialModem`) or simulated (`SimModem`). */
export interface Modem {
  /** Opens the device, configures it, and delivers messages that arrived while the box was off. */
  start(signal?: AbortSignal): Promise<void>
  /** Closes the device; removes every timer and listener. */
  stop(): Promise<void>
  registration(): Promise<RegistrationState>
  signalQuality(): Promise<SignalQuality>
  /** Sends a single-part text SMS (≤ 160 GSM characters); resolves to the network message reference. */
  sendSms(to: string, text: string): Promise<number>
  /**
   * Subscribes to incoming SMS; returns the unsubscribe function. A listener may return a promise: the message is
   * deleted from the SIM only after every listener's promise has resolved, and a rejection leaves it there to be
   * delivered again (at the next start's sweep) — so a consumer that stores the message before resolving loses
   * nothing to a power cut. Delivery is therefore at least once: listeners must be idempotent.
   */
  onSms(listener: (sms: SmsMessage) => void | Promise<void>): () => void
  /** Subscribes to link status changes; returns the unsubscribe function. */
  onStatus(listener: (status: ModemStatus) => void): () => void
}

/** Stable codes of `ModemError`. */
export type ModemErrorCode =
  | 'NOT_STARTED'
  | 'TIMEOUT'
  | 'AT_ERROR'
  | 'PORT_ERROR'
  | 'INVALID_NUMBER'
  | 'INVALID_TEXT'
  | 'STOPPED'
  | 'BAD_RESPONSE'
  | 'SWEEP_FAILED'
  | 'UNREADABLE_SMS'
  | 'INCOMPLETE_SMS'

/** Errors of the modem binding, with a stable `code`. */
export class ModemError extends Error {
  override readonly name = 'ModemError'
  constructor(
    readonly code: ModemErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

const REG_STATES: Record<number, RegistrationState> = {
  0: 'not-registered',
  1: 'home',
  2: 'searching',
  3: 'denied',
  4: 'unknown',
  5: 'roaming',
}

/** Maps the CREG <stat> number to a state. */
export function registrationFromStat(stat: number): RegistrationState {
  return REG_STATES[stat] ?? 'unknown'
}

/** Converts the CSQ RSSI index (27.007 §8.5: 0 ≤ −113 dBm, 2 dBm steps, 31 ≥ −51 dBm, 99 unknown). */
export function signalFromRssi(rssi: number): SignalQuality {
  if (!Number.isInteger(rssi) || rssi < 0 || rssi > 31) return { rssi: 99, dbm: null, bars: 0 }
  const dbm = -113 + 2 * rssi
  // Thresholds as commonly used by handsets: ≤ −109 none, −107..−95 one, −93..−85 two, −83..−75 three.
  const bars = rssi < 2 ? 0 : rssi < 10 ? 1 : rssi < 15 ? 2 : rssi < 20 ? 3 : 4
  return { rssi, dbm, bars }
}

/** GSM 03.38 extension-table characters: each costs two septets. */
const GSM_EXT = '^{}\\[~]|'

/**
 * Checks a number and a text for a single-part GSM 7-bit SMS; throws `ModemError` otherwise. The text is kept to
 * printable ASCII and newlines — enough for the `OPG1 …` formats, and the same on every handset — and the
 * backtick, which GSM 03.38 lacks, is refused rather than silently replaced.
 */
export function validateOutgoingSms(to: string, text: string): void {
  if (!/^\+?[0-9]{3,20}$/.test(to))
    throw new ModemError('INVALID_NUMBER', 'recipient must be digits, optional +')
  let septets = 0
  for (const ch of text) {
    const code = ch.charCodeAt(0)
    const ascii = ch === '\n' || (code >= 0x20 && code <= 0x7e && ch !== '`')
    if (!ascii) throw new ModemError('INVALID_TEXT', 'text has a character outside printable ASCII')
    septets += GSM_EXT.includes(ch) ? 2 : 1
  }
  if (septets === 0) throw new ModemError('INVALID_TEXT', 'text is empty')
  if (septets > 160) throw new ModemError('INVALID_TEXT', 'text is longer than one SMS (160 septets)')
}

/** A small typed listener set, so bindings need no EventEmitter and `clear()` on stop drops them all. */
export class Listeners<T> {
  private readonly set = new Set<(value: T) => void | Promise<void>>()

  add(listener: (value: T) => void | Promise<void>): () => void {
    this.set.add(listener)
    return () => this.set.delete(listener)
  }

  /** Calls every listener; a throwing listener does not stop the others. */
  emit(value: T, onError?: (err: unknown) => void): void {
    for (const l of [...this.set]) {
      try {
        l(value)
      } catch (err) {
        onError?.(err)
      }
    }
  }

  /** Calls every listener and waits for the promises they return; true when none threw or rejected. */
  async settle(value: T, onError?: (err: unknown) => void): Promise<boolean> {
    const results = await Promise.allSettled([...this.set].map(async (l) => l(value)))
    for (const r of results) if (r.status === 'rejected') onError?.(r.reason)
    return results.every((r) => r.status === 'fulfilled')
  }

  clear(): void {
    this.set.clear()
  }

  get size(): number {
    return this.set.size
  }
}
