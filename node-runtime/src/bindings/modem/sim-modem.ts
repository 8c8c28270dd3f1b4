/**
 * An in-memory `Modem` for tests and the local demo: no port, no AT dialogue, but the same validation and
 * lifecycle as `SerialModem`, plus hooks to inject SMS and inspect what was sent.
 */
import {
  Listeners,
  type Modem,
  ModemError,
  type ModemStatus,
  type RegistrationState,
  type SignalQuality,
  type SmsMessage,
  signalFromRssi,
  validateOutgoingSms,
} from './modem.js'

/** One SMS sent through the simulated modem. */
export interface SimSentSms {
  to: string
  text: string
  ref: number
}

/** The simulated modem binding. */
export class SimModem implements Modem {
  /** Hook: every SMS sent, in order. */
  readonly sent: SimSentSms[] = []
  private readonly sms = new Listeners<SmsMessage>()
  private readonly status = new Listeners<ModemStatus>()
  /** Messages that arrived while stopped, delivered at the next start like a SIM sweep. */
  private readonly inbox: SmsMessage[] = []
  private running = false
  private rssi = 20
  private reg: RegistrationState = 'home'
  private nextRef = 1

  constructor(private readonly now: () => Date = () => new Date()) {}

  async start(): Promise<void> {
    if (this.running) return
    this.running = true
    this.status.emit('ready')
    for (const m of this.inbox.splice(0)) this.sms.emit(m)
  }

  async stop(): Promise<void> {
    if (!this.running) return
    this.running = false
    this.status.emit('stopped')
  }

  async registration(): Promise<RegistrationState> {
    this.assertRunning()
    return this.reg
  }

  async signalQuality(): Promise<SignalQuality> {
    this.assertRunning()
    return signalFromRssi(this.rssi)
  }

  async sendSms(to: string, text: string): Promise<number> {
    validateOutgoingSms(to, text)
    this.assertRunning()
    const ref = this.nextRef
    this.nextRef = (this.nextRef + 1) % 256
    this.sent.push({ to, text, ref })
    return ref
  }

  onSms(listener: (sms: SmsMessage) => void | Promise<void>): () => void {
    return this.sms.add(listener)
  }

  onStatus(listener: (status: ModemStatus) => void): () => void {
    return this.status.add(listener)
  }

  /** Hook: an SMS arrives (delivered now if started, else at the next start). */
  emitSms(from: string, text: string, receivedAt: Date = this.now()): void {
    const m = { from, text, receivedAt }
    if (this.running) this.sms.emit(m)
    else this.inbox.push(m)
  }

  /** Hook: the signal as an AT+CSQ RSSI index (0..31, 99 unknown). */
  setSignal(rssi: number): void {
    this.rssi = rssi
  }

  /** Hook: the network registration state. */
  setRegistration(state: RegistrationState): void {
    this.reg = state
  }

  private assertRunning(): void {
    if (!this.running) throw new ModemError('NOT_STARTED', 'modem is not started')
  }
}
