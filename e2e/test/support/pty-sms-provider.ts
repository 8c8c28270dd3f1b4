/**
 * An SMS provider for system tests that plays the mobile network: a message to a box's modem number is put
 * on that box's simulated SIM (the AT modem simulator behind a socat pty), which announces it with +CMTI to
 * whatever has the tty open; messages to any other number (merchant phones) are kept for inspection.
 */
import type { SmsMessage, SmsProvider, SmsReceipt } from '../../../cloud-bridge/src/sms/index.js'

/** The part of the testkit's AtResponder this provider needs. */
export interface SimulatedSim {
  deliverSms(from: string, text: string, at?: Date): number
}

export class PtyModemSmsProvider implements SmsProvider {
  readonly name = 'pty-modem'
  /** Messages to numbers with no simulated modem. */
  readonly elsewhere: SmsMessage[] = []
  /** Messages put on a simulated SIM. */
  readonly delivered: (SmsMessage & { index: number })[] = []
  readonly #sims: ReadonlyMap<string, SimulatedSim>
  readonly #from: string

  /** `sims` maps E.164 modem numbers to simulators; `from` is the sender number the box sees. */
  constructor(sims: ReadonlyMap<string, SimulatedSim>, from = '+15557770000') {
    this.#sims = sims
    this.#from = from
  }

  async send(msg: SmsMessage): Promise<SmsReceipt> {
    const sim = this.#sims.get(msg.to)
    if (!sim) {
      this.elsewhere.push({ ...msg })
      return { providerId: `elsewhere-${this.elsewhere.length}` }
    }
    const index = sim.deliverSms(this.#from, msg.text)
    this.delivered.push({ ...msg, index })
    return { providerId: `sim-${msg.to}-${index}-${this.delivered.length}` }
  }
}
