/**
 * The far end of a SIM7600/Quectel-class cellular modem, reduced to the AT dialogue opg uses: echo, SMS in both
 * PDU mode (the factory default, CMGF=0: hex bodies framed by a declared length) and text mode (CMGF=1: bodies as
 * raw lines, which is why a hostile text can pose as modem output there) — CNMI, CPMS, CMGR, CMGL, CMGD, CMGS and
 * CMGW with the "> " prompt — SIM storage with a capacity (`+CMS ERROR: 322` when full; the network holds
 * further messages until a slot frees), CREG/CSQ and CFUN resets. It is transport-free: bytes go in through
 * `input()`, bytes come out through the `write` callback, so the same responder sits behind a socat pty pair or
 * serialport's mock binding.
 *
 * Knobs model what goes wrong with real modems in the field: slow answers, garbage on the line, a modem that
 * stops answering, and one that resets mid-session and comes back with factory settings (echo on, PDU mode,
 * no new-message indications).
 */

import { type DeliverOptions, decodeSubmit } from './pdu-codec.js'
import { formatScts, listFilter, listing, SimStorage, type StoredSms, tpduLength } from './sim-storage.js'

export { formatScts, type StoredSms }

/** One SMS the modem was asked to send. */
export interface SentSms {
  to: string
  text: string
  ref: number
  /** The SMS-SUBMIT PDU, when sent in PDU mode. */
  pdu?: string
}

/** Options of the responder. */
export interface AtResponderOptions {
  /** Where the modem's output bytes go (can also be set later with `setOutput`). */
  write?: (data: string) => void
  /** SIM storage capacity (messages). */
  capacity?: number
}

const ESC = '\x1b'

/** Index of the first of two characters in `s`, or -1. */
function firstOf(s: string, a: string, b: string): number {
  const i = s.indexOf(a)
  const j = s.indexOf(b)
  return i < 0 ? j : j < 0 ? i : Math.min(i, j)
}

/** Simulated modem: feed it the host's bytes, read its answers from `write`. */
export class AtResponder {
  /** Delay before every answer, in ms ("slow modem"). */
  delayMs = 0
  /** When true, a garbage line is sent before every answer. */
  garbageBeforeEachAnswer = false
  /** Every command line received, in order (without the trailing CR). */
  readonly commands: string[] = []
  /** Log of SMS the host sent. */
  readonly sent: SentSms[] = []
  /** Number of resets (CFUN=1,1 or `reset()`). */
  resets = 0

  private write: (data: string) => void
  private readonly storage: SimStorage
  private readonly timers = new Set<ReturnType<typeof setTimeout>>()
  private buf = ''
  private echo = true
  private textMode = false
  private cnmiMt = 0
  private muted = false
  private resetting = false
  /** A CMGS/CMGW waiting for its body after the prompt: text mode names the recipient, PDU mode the length. */
  private pendingSend: { kind: 'send' | 'write'; to?: string; length?: number } | null = null
  private nextRef = 1
  /** Scripted failures: command prefix → result line and remaining count. */
  private readonly failures = new Map<string, { result: string; times: number }>()
  /** Bumped on every reset so answers scheduled before it are never sent. */
  private epoch = 0
  private rssi = 20
  private regStat = 1

  constructor(opts: AtResponderOptions = {}) {
    this.write = opts.write ?? (() => {})
    this.storage = new SimStorage(opts.capacity ?? 30, (index) => {
      // Whether to announce is decided when the message lands; the line itself follows a moment later.
      if (this.cnmiMt !== 1 || this.muted || this.resetting) return
      const epoch = this.epoch
      this.later(5, () => epoch === this.epoch && !this.muted && this.urc(`+CMTI: "SM",${index}`))
    })
  }

  /** Points the modem's output somewhere else (used when the transport exists only after construction). */
  setOutput(write: (data: string) => void): void {
    this.write = write
  }

  /** Bytes from the host. */
  input(data: Buffer | string): void {
    if (this.muted || this.resetting) return
    this.buf += typeof data === 'string' ? data : data.toString('latin1')
    for (;;) {
      if (this.pendingSend) {
        const end = firstOf(this.buf, '\x1a', ESC)
        if (end < 0) return
        const body = this.buf.slice(0, end)
        const cancelled = this.buf[end] === ESC
        this.buf = this.buf.slice(end + 1)
        this.finishSend(body, cancelled)
        continue
      }
      const cr = this.buf.indexOf('\r')
      if (cr < 0) return
      const line = this.buf.slice(0, cr).replace(/^\n+/, '')
      this.buf = this.buf.slice(cr + 1)
      if (line.length > 0) this.command(line)
    }
  }

  /**
   * The network delivers an SMS: encoded as an SMSC would (GSM 7-bit or UCS-2; a long text as concatenated
   * parts, one SIM slot each, in `order` when given, e.g. `[2, 1]`). Each stored part is announced with +CMTI
   * when the host asked for indications. Returns the first part's slot, or -1 when the SIM is full and the
   * network holds the message until a slot frees.
   */
  deliverSms(
    from: string,
    text: string,
    at: Date = new Date(),
    opts: Omit<DeliverOptions, 'at'> & { order?: number[] } = {},
  ): number {
    return this.storage.deliverText(from, text, at, opts)
  }

  /**
   * The network delivers a raw PDU (hex, SMSC field first) — for messages no encoder here would make: corrupt,
   * truncated, unsupported. `length` overrides the TPDU length the modem declares for it.
   */
  deliverPdu(pdu: string, opts: { from?: string; length?: number; at?: Date } = {}): number {
    return this.storage.deliverPdu(pdu, opts)
  }

  /** Messages still in SIM storage. */
  stored(): StoredSms[] {
    return this.storage.list()
  }

  /** Messages the network holds because the SIM was full. */
  waitingAtNetwork(): number {
    return this.storage.waiting
  }

  /** Sets the signal as AT+CSQ reports it (0..31, 99 = unknown). */
  setSignal(rssi: number): void {
    this.rssi = rssi
  }

  /** Sets the CREG registration status (0 none, 1 home, 2 searching, 3 denied, 5 roaming). */
  setRegistration(stat: number): void {
    this.regStat = stat
  }

  /** The next `times` commands starting with `prefix` fail with `result` (e.g. "+CME ERROR: 14", SIM busy). */
  failNext(prefix: string, result = 'ERROR', times = 1): void {
    this.failures.set(prefix.toUpperCase(), { result, times })
  }

  /** A modem that stops answering altogether (input dropped, nothing sent) until unmuted. */
  mute(on: boolean): void {
    this.muted = on
    this.buf = ''
  }

  /** Sends one line of noise, as a flaky UART or a chatty firmware would. */
  injectGarbage(line = '\x00\xfe~~#NOISE%\x7f'): void {
    this.write(`\r\n${line}\r\n`)
  }

  /** The modem resets: drops everything for `silentMs`, then says RDY with factory settings. */
  reset(silentMs = 300): void {
    this.resets++
    this.resetting = true
    this.factorySettings()
    this.later(silentMs, () => {
      this.resetting = false
      if (this.muted) return
      this.write('\r\nRDY\r\n')
      this.write('\r\n+CPIN: READY\r\n')
      this.write('\r\nSMS DONE\r\n')
    })
  }

  /** A brown-out: settings fall back to factory defaults with no RDY, so the host is not told. */
  brownout(): void {
    this.resets++
    this.factorySettings()
  }

  private factorySettings(): void {
    this.epoch++
    this.buf = ''
    this.pendingSend = null
    this.echo = true
    this.textMode = false
    this.cnmiMt = 0
  }

  /** Clears every pending timer; the responder is inert afterwards. */
  stop(): void {
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    this.muted = true
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t)
      fn()
    }, ms)
    this.timers.add(t)
  }

  private urc(line: string): void {
    this.write(`\r\n${line}\r\n`)
  }

  /** Sends an answer (info lines, then the final result as the last element) after the configured delay. */
  private answer(lines: string[], raw = ''): void {
    let out = ''
    if (this.garbageBeforeEachAnswer) out += '\r\n\x00\xfe~~#NOISE%\x7f\r\n'
    // Like a SIM7600 in text mode: info lines (including message bodies) follow each other with single
    // CRLFs; the final result code stands apart with a blank line before it.
    const info = lines.slice(0, -1)
    const final = lines.at(-1)
    if (info.length > 0) out += `\r\n${info.join('\r\n')}\r\n`
    if (final !== undefined) out += `\r\n${final}\r\n`
    out += raw
    const epoch = this.epoch
    if (this.delayMs > 0)
      this.later(
        this.delayMs,
        () => epoch === this.epoch && !this.resetting && !this.muted && this.write(out),
      )
    else this.write(out)
  }

  private command(line: string): void {
    this.commands.push(line)
    if (this.echo) this.write(`${line}\r`)
    const u = line.toUpperCase()
    if (!u.startsWith('AT')) {
      this.answer(['ERROR'])
      return
    }
    const cmd = line.slice(2)
    const c = cmd.toUpperCase()
    for (const [prefix, f] of this.failures) {
      if (!u.startsWith(prefix)) continue
      if (--f.times <= 0) this.failures.delete(prefix)
      this.answer([f.result])
      return
    }
    if (c === '') {
      this.answer(['OK'])
      return
    }
    if (c === 'E0' || c === 'E1') {
      this.echo = c === 'E1'
      this.answer(['OK'])
      return
    }
    if (c === 'Z') {
      this.textMode = false
      this.cnmiMt = 0
      this.answer(['OK'])
      return
    }
    if (c === '+CMGF=0' || c === '+CMGF=1') {
      this.textMode = c.endsWith('1')
      this.answer(['OK'])
      return
    }
    if (c === '+CMGF?') {
      this.answer([`+CMGF: ${this.textMode ? 1 : 0}`, 'OK'])
      return
    }
    if (c.startsWith('+CSCS=')) {
      this.answer(['OK'])
      return
    }
    if (c.startsWith('+CNMI=')) {
      const mt = Number(c.slice(6).split(',')[1] ?? '0')
      this.cnmiMt = Number.isFinite(mt) ? mt : 0
      this.answer(['OK'])
      return
    }
    if (c.startsWith('+CPMS=')) {
      const n = this.storage.used
      const cap = this.storage.capacity
      this.answer([`+CPMS: ${n},${cap},${n},${cap},${n},${cap}`, 'OK'])
      return
    }
    if (c === '+CREG?') {
      this.answer([`+CREG: 0,${this.regStat}`, 'OK'])
      return
    }
    if (c === '+CSQ') {
      this.answer([`+CSQ: ${this.rssi},99`, 'OK'])
      return
    }
    if (c === '+CFUN=1,1') {
      this.answer(['OK'])
      this.reset()
      return
    }
    if (c.startsWith('+CMGR=')) {
      this.readSms(Number(c.slice(6)))
      return
    }
    if (c.startsWith('+CMGD=')) {
      const index = Number(c.slice(6).split(',')[0])
      if (!Number.isInteger(index) || !this.storage.delete(index)) {
        this.answer(['+CMS ERROR: 321'])
        return
      }
      this.answer(['OK'])
      return
    }
    if (c.startsWith('+CMGL')) {
      this.listSms(c)
      return
    }
    if (c.startsWith('+CMGS=') || c.startsWith('+CMGW=')) {
      const kind = c.startsWith('+CMGS=') ? 'send' : 'write'
      if (kind === 'write' && this.storage.full) {
        this.answer(['+CMS ERROR: 322'])
        return
      }
      const arg = cmd.slice(6)
      if (this.textMode) {
        const m = /^"([^"]+)"/.exec(arg)
        if (!m) {
          this.answer(['+CMS ERROR: 302'])
          return
        }
        this.pendingSend = { kind, to: m[1]! }
      } else {
        const length = Number(arg)
        if (!/^[0-9]+$/.test(arg) || length < 7 || length > 164) {
          this.answer(['+CMS ERROR: 304'])
          return
        }
        this.pendingSend = { kind, length }
      }
      this.answer([], '\r\n> ')
      return
    }
    this.answer(['ERROR'])
    return
  }

  private readSms(index: number): void {
    const m = Number.isInteger(index) ? this.storage.get(index) : undefined
    if (!m) {
      this.answer(['+CMS ERROR: 321'])
      return
    }
    const status = m.status
    if (status === 'REC UNREAD') m.status = 'REC READ'
    this.answer([...listing('+CMGR:', { ...m, status }, this.textMode), 'OK'])
  }

  private listSms(c: string): void {
    const wanted = listFilter(/^\+CMGL(?:=(.*))?$/.exec(c)?.[1], this.textMode)
    if (!wanted) {
      this.answer(['+CMS ERROR: 302'])
      return
    }
    const lines: string[] = []
    for (const m of this.storage.list()) {
      if (!wanted(m.status)) continue
      lines.push(...listing('+CMGL:', m, this.textMode))
      if (m.status === 'REC UNREAD') m.status = 'REC READ'
    }
    this.answer([...lines, 'OK'])
  }

  private finishSend(body: string, cancelled: boolean): void {
    const pending = this.pendingSend!
    this.pendingSend = null
    if (cancelled) {
      this.answer(['OK'])
      return
    }
    let to = pending.to ?? ''
    let text = body
    let pdu: string | undefined
    if (pending.length !== undefined) {
      try {
        ;({ to, text } = decodeSubmit(body))
        if (tpduLength(body) !== pending.length) throw new Error('length mismatch')
      } catch {
        // 27.005: 304 invalid PDU mode parameter.
        this.answer(['+CMS ERROR: 304'])
        return
      }
      pdu = body
    }
    if (pending.kind === 'write') {
      const index = this.storage.write({
        from: to,
        text,
        scts: '',
        pdu: pdu ?? '',
        length: pending.length ?? 0,
      })
      this.answer(index === null ? ['+CMS ERROR: 322'] : [`+CMGW: ${index}`, 'OK'])
      return
    }
    const ref = this.nextRef
    this.nextRef = (this.nextRef + 1) % 256
    this.sent.push(pdu ? { to, text, ref, pdu } : { to, text, ref })
    this.answer([`+CMGS: ${ref}`, 'OK'])
  }
}
