/**
 * `Modem` on a real SIM7600/Quectel-class modem through serialport: PDU-mode SMS with +CMTI indications,
 * read-then-delete (`SmsInbox`), a sweep of the SIM at start for messages that arrived while the box was off,
 * and recovery when the modem stops answering (probe, then AT+CFUN=1,1, then reopen the port) followed by a
 * fresh init.
 *
 * Multi-command sequences (init, read+delete, send) run one after another through `serial()`, so a recovery
 * never interleaves with half a conversation.
 */
import { AtChannel, type AtRequest, type SerialPortLike } from './at-channel.js'
import { parseCmgs, parseCmti, parseCreg, parseCsq } from './at-parse.js'
import {
  Listeners,
  type Modem,
  ModemError,
  type ModemStatus,
  type RegistrationState,
  registrationFromStat,
  type SignalQuality,
  type SmsMessage,
  signalFromRssi,
  validateOutgoingSms,
} from './modem.js'
import { OwnedTimers } from './owned-timers.js'
import { type ResolvedOptions, resolveOptions, type SerialModemOptions } from './serial-modem-options.js'
import { type DiscardedSms, SmsInbox } from './sms-inbox.js'
import { encodeSubmit } from './sms-pdu.js'

const RESET_URCS = ['RDY', 'SMS DONE', '+CPIN: READY']

export type { SerialModemOptions }

/** The real modem binding. */
export class SerialModem implements Modem {
  private readonly o: ResolvedOptions
  private readonly inbox: SmsInbox
  private readonly sms = new Listeners<SmsMessage>()
  private readonly status = new Listeners<ModemStatus>()
  private readonly timers = new OwnedTimers()
  private port: SerialPortLike | null = null
  private channel: AtChannel | null = null
  private chain: Promise<unknown> = Promise.resolve()
  private running = false
  private initialising = false
  private needsRecovery = false
  private recovering = false
  private reinitPending = false
  private readyWaiter: (() => void) | null = null
  private healthTimer: ReturnType<typeof setInterval> | null = null
  private signal: AbortSignal | undefined
  private readonly onAbort = () => void this.stop()
  private readonly onPortClose = () => {
    if (!this.running) return
    this.markBroken(new ModemError('PORT_ERROR', 'serial port closed unexpectedly'))
  }
  private readonly onPortError = (err: Error) =>
    this.o.onError?.(new ModemError('PORT_ERROR', err.message, { cause: err }))

  constructor(options: SerialModemOptions) {
    this.o = resolveOptions(options)
    this.inbox = new SmsInbox({
      cmd: (req) => this.cmd(req),
      deliver: (sms) => this.sms.settle(sms, (err) => this.o.onError?.(err)),
      serial: (fn) => this.serial(fn),
      later: (ms, fn) => void this.timers.later(ms, fn),
      sleep: (ms) => this.timers.sleep(ms),
      onDiscard: (d) => this.discarded(d),
      now: this.o.now,
      maxReadAttempts: this.o.maxReadAttempts,
      retryPauseMs: this.o.settleMs,
      partTimeoutMs: this.o.partTimeoutMs,
    })
  }

  /** Messages given up on and deleted since construction. */
  discardedCount = 0

  /** Lines of line noise dropped so far (for diagnostics). */
  get garbageLines(): number {
    return this.channel?.garbageLines ?? 0
  }

  async start(signal?: AbortSignal): Promise<void> {
    if (this.running) return
    this.running = true
    this.setStatus('starting')
    try {
      await this.openPort()
    } catch (err) {
      this.running = false
      this.setStatus('stopped')
      throw err
    }
    this.signal = signal
    signal?.addEventListener('abort', this.onAbort, { once: true })
    if (this.o.healthCheckMs > 0) {
      this.healthTimer = setInterval(() => {
        this.serial(() => this.cmd({ command: 'AT+CREG?', infoPrefixes: ['+CREG:'] })).catch(() => {})
      }, this.o.healthCheckMs)
    }
    // A modem still booting, with its SIM busy, or hung is recovered in the background; start() does not wait.
    await this.serial(() => this.initAndSweep()).catch((err) => this.markBroken(err))
  }

  async stop(): Promise<void> {
    if (!this.running) return
    this.running = false
    this.signal?.removeEventListener('abort', this.onAbort)
    this.signal = undefined
    if (this.healthTimer) clearInterval(this.healthTimer)
    this.healthTimer = null
    this.timers.clear()
    this.inbox.clear()
    await this.closePort()
    await this.chain.catch(() => {})
    this.setStatus('stopped')
  }

  registration(): Promise<RegistrationState> {
    return this.serial(async () => {
      const stat = parseCreg(await this.cmd({ command: 'AT+CREG?', infoPrefixes: ['+CREG:'] }))
      if (stat === null) throw new ModemError('BAD_RESPONSE', 'no +CREG line')
      return registrationFromStat(stat)
    })
  }

  signalQuality(): Promise<SignalQuality> {
    return this.serial(async () => {
      const rssi = parseCsq(await this.cmd({ command: 'AT+CSQ', infoPrefixes: ['+CSQ:'] }))
      if (rssi === null) throw new ModemError('BAD_RESPONSE', 'no +CSQ line')
      return signalFromRssi(rssi)
    })
  }

  async sendSms(to: string, text: string): Promise<number> {
    validateOutgoingSms(to, text)
    const pdu = encodeSubmit(to, text)
    return this.serial(async () => {
      const lines = await this.cmd({
        command: `AT+CMGS=${pdu.tpduLength}`,
        promptText: pdu.hex,
        infoPrefixes: ['+CMGS:'],
        timeoutMs: this.o.sendTimeoutMs,
      })
      const ref = parseCmgs(lines)
      if (ref === null) throw new ModemError('BAD_RESPONSE', 'no +CMGS line')
      return ref
    })
  }

  onSms(listener: (sms: SmsMessage) => void | Promise<void>): () => void {
    return this.sms.add(listener)
  }

  onStatus(listener: (status: ModemStatus) => void): () => void {
    return this.status.add(listener)
  }

  // ---- sequencing and recovery ----

  /** Runs `fn` after every earlier sequence; recovers first if the modem was found broken. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      if (!this.running) throw new ModemError('NOT_STARTED', 'modem is not started')
      if (this.needsRecovery && !(await this.recover())) {
        throw new ModemError('TIMEOUT', 'modem is not answering; recovery continues in the background')
      }
      return fn()
    }
    const result = this.chain.then(run, run)
    this.chain = result.catch(() => {})
    return result
  }

  private async cmd(req: Omit<AtRequest, 'timeoutMs'> & { timeoutMs?: number }): Promise<string[]> {
    const channel = this.channel
    if (!channel) throw new ModemError('NOT_STARTED', 'port is closed')
    try {
      return await channel.exec({ timeoutMs: this.o.commandTimeoutMs, ...req })
    } catch (err) {
      if (err instanceof ModemError && err.code === 'TIMEOUT' && !this.recovering) this.markBroken(err)
      throw err
    }
  }

  private markBroken(err: unknown): void {
    if (this.needsRecovery || !this.running) return
    this.needsRecovery = true
    this.setStatus('recovering')
    this.o.onError?.(err)
    this.timers.later(0, () => this.kick())
  }

  /** Runs an empty sequence, which performs the pending recovery; retries later if it failed. */
  private kick(): void {
    this.serial(async () => {}).catch(() => {
      if (this.running && this.needsRecovery) this.timers.later(this.o.recoveryDelayMs, () => this.kick())
    })
  }

  /** One recovery round: probe, else reset the modem, else reopen the port; then re-initialise. */
  private async recover(): Promise<boolean> {
    this.recovering = true
    try {
      const steps: Array<() => Promise<void>> = [
        async () => {},
        async () => {
          const ready = this.waitForReady(this.o.resetWaitMs)
          await this.cmd({ command: 'AT+CFUN=1,1', timeoutMs: this.o.probeTimeoutMs }).catch(() => {})
          await ready
        },
        async () => {
          await this.closePort()
          await this.openPort()
        },
      ]
      for (const step of steps) {
        if (!this.running) return false
        try {
          await step()
        } catch (err) {
          this.o.onError?.(err)
          continue
        }
        if (!(await this.probe())) continue
        // It answers: a failing init (SIM still busy after boot…) is retried next round, not escalated to a reset.
        try {
          await this.initAndSweep()
          this.needsRecovery = false
          return true
        } catch (err) {
          this.o.onError?.(err)
          return false
        }
      }
      return false
    } finally {
      this.recovering = false
    }
  }

  private async probe(): Promise<boolean> {
    for (let i = 0; i < 2; i++) {
      if (!this.running) return false
      try {
        await this.cmd({ command: 'AT', timeoutMs: this.o.probeTimeoutMs })
        // Late answers to commands that timed out may still trickle in; let them pass before real work.
        await this.timers.sleep(this.o.settleMs)
        this.channel?.discardInput()
        return true
      } catch {}
    }
    return false
  }

  /** Resolves on the next reset indication (RDY…), after `ms`, or on stop, whichever comes first. */
  private waitForReady(ms: number): Promise<void> {
    const w = this.timers.waiter(ms)
    this.readyWaiter = () => {
      this.readyWaiter = null
      w.wake()
    }
    return w.promise.finally(() => {
      this.readyWaiter = null
    })
  }

  // ---- modem conversation ----

  private async initAndSweep(): Promise<void> {
    this.initialising = true
    try {
      await this.cmd({ command: 'AT' })
      await this.cmd({ command: 'ATE0' })
      // PDU mode: bodies are hex framed by a declared length, so no message text can pose as modem output.
      await this.cmd({ command: 'AT+CMGF=0' })
      // Some firmwares refuse SM storage (ME only); the modem's default storage then serves.
      await this.cmd({ command: 'AT+CPMS="SM","SM","SM"', infoPrefixes: ['+CPMS:'] }).catch((err) => {
        if (!(err instanceof ModemError && err.code === 'AT_ERROR')) throw err
      })
      await this.cmd({ command: 'AT+CNMI=2,1,0,0,0' })
    } finally {
      this.initialising = false
    }
    this.needsRecovery = false
    await this.sweep()
    // 'ready' means configured and the SIM swept once. A failed sweep is reported and retried later, never a
    // reason to withhold 'ready': one message the box cannot read must not cost it the modem. Only a sweep that
    // found the modem itself silent (a timeout) leaves it to recovery.
    if (!this.needsRecovery) this.setStatus('ready')
  }

  private async sweep(): Promise<void> {
    try {
      await this.inbox.sweep()
    } catch (err) {
      this.o.onError?.(new ModemError('SWEEP_FAILED', 'the SIM sweep failed; retrying later', { cause: err }))
      this.timers.later(this.o.sweepRetryMs, () => {
        if (this.running) this.serial(() => this.sweep()).catch((e) => this.o.onError?.(e))
      })
    }
  }

  private discarded(d: DiscardedSms): void {
    this.discardedCount++
    this.o.onDiscard?.(d)
    this.o.onError?.(
      new ModemError(
        d.reason === 'unreadable' ? 'UNREADABLE_SMS' : 'INCOMPLETE_SMS',
        `deleted SIM slot(s) ${d.indexes.join(',')}: ${d.detail}; PDU ${d.pdus.join(' ') || 'none'}`,
      ),
    )
  }

  private onUrc(line: string): void {
    const cmti = parseCmti(line)
    if (cmti) {
      this.serial(() => this.inbox.take(cmti.index)).catch((err) => this.o.onError?.(err))
      return
    }
    if (RESET_URCS.some((u) => line.startsWith(u))) {
      if (this.readyWaiter) {
        this.readyWaiter()
        return
      }
      // The modem restarted by itself: its settings are gone, so configure it again once it settles.
      this.scheduleReinit()
    }
  }

  private onEcho(): void {
    // Echo after ATE0 means the modem lost its settings without telling us (a brown-out reset).
    if (!this.initialising && !this.recovering) this.scheduleReinit()
  }

  private scheduleReinit(): void {
    if (this.reinitPending || this.recovering || !this.running) return
    this.reinitPending = true
    this.timers.later(this.o.settleMs, () => {
      this.reinitPending = false
      this.channel?.discardInput()
      this.serial(() => this.initAndSweep()).catch((err) => this.markBroken(err))
    })
  }

  // ---- port and helpers ----

  private async openPort(): Promise<void> {
    const port = this.o.openPort(this.o.path, this.o.baudRate)
    await new Promise<void>((resolve, reject) =>
      port.open((err) =>
        err ? reject(new ModemError('PORT_ERROR', `cannot open ${this.o.path}`, { cause: err })) : resolve(),
      ),
    )
    port.on('close', this.onPortClose)
    port.on('error', this.onPortError)
    this.port = port
    this.channel = new AtChannel(port, {
      onUrc: (line) => this.onUrc(line),
      onEcho: () => this.onEcho(),
    })
    this.channel.attach()
  }

  private async closePort(): Promise<void> {
    const port = this.port
    this.channel?.detach(new ModemError('STOPPED', 'port closed'))
    this.channel = null
    this.port = null
    if (!port) return
    port.off('close', this.onPortClose)
    // The error listener stays on the dropped port: a write still queued inside serialport fails after the
    // close and would otherwise surface as an uncaught 'error' event.
    if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()))
  }

  private setStatus(s: ModemStatus): void {
    this.status.emit(s, (err) => this.o.onError?.(err))
  }
}
