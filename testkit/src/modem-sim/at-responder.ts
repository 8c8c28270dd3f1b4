/**
 * The far end of a SIM7600/Quectel-class cellular modem, reduced to the AT dialogue opg uses: echo, text-mode
 * SMS (CMGF, CNMI, CPMS, CMGR, CMGL, CMGD, CMGS with the "> " prompt), CREG/CSQ and CFUN resets. It is
 * transport-free: bytes go in through `input()`, bytes come out through the `write` callback, so the same
 * responder sits behind a socat pty pair or serialport's mock binding.
 *
 * Knobs model what goes wrong with real modems in the field: slow answers, garbage on the line, a modem that
 * stops answering, and one that resets mid-session and comes back with factory settings (echo on, PDU mode,
 * no new-message indications).
 */

/** A received SMS held in the simulated SIM storage. */
export interface StoredSms {
  index: number
  status: 'REC UNREAD' | 'REC READ'
  from: string
  text: string
  /** Service-centre timestamp as the modem prints it: yy/MM/dd,hh:mm:ss±zz (zz in quarter hours). */
  scts: string
}

/** One SMS the modem was asked to send. */
export interface SentSms {
  to: string
  text: string
  ref: number
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

/** Formats a Date as the modem's service-centre timestamp (UTC, zone +00). */
export function formatScts(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0')
  return `${p(d.getUTCFullYear() % 100)}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())},${p(d.getUTCHours())}:${p(
    d.getUTCMinutes(),
  )}:${p(d.getUTCSeconds())}+00`
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
  private readonly capacity: number
  private readonly storage = new Map<number, StoredSms>()
  private readonly timers = new Set<ReturnType<typeof setTimeout>>()
  private buf = ''
  private echo = true
  private textMode = false
  private cnmiMt = 0
  private muted = false
  private resetting = false
  private pendingSend: { to: string } | null = null
  private nextRef = 1
  /** Scripted failures: command prefix → result line and remaining count. */
  private readonly failures = new Map<string, { result: string; times: number }>()
  /** Bumped on every reset so answers scheduled before it are never sent. */
  private epoch = 0
  private rssi = 20
  private regStat = 1

  constructor(opts: AtResponderOptions = {}) {
    this.write = opts.write ?? (() => {})
    this.capacity = opts.capacity ?? 30
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
        const text = this.buf.slice(0, end)
        const cancelled = this.buf[end] === ESC
        this.buf = this.buf.slice(end + 1)
        this.finishSend(text, cancelled)
        continue
      }
      const cr = this.buf.indexOf('\r')
      if (cr < 0) return
      const line = this.buf.slice(0, cr).replace(/^\n+/, '')
      this.buf = this.buf.slice(cr + 1)
      if (line.length > 0) this.command(line)
    }
  }

  /** Stores an incoming SMS; announces it with +CMTI when the host asked for indications. */
  deliverSms(from: string, text: string, at: Date = new Date()): number {
    let index = 0
    for (let i = 0; i < this.capacity; i++) {
      if (!this.storage.has(i)) {
        index = i
        break
      }
      if (i === this.capacity - 1) throw new Error('simulated SIM storage full')
    }
    this.storage.set(index, { index, status: 'REC UNREAD', from, text, scts: formatScts(at) })
    if (this.cnmiMt === 1 && !this.muted && !this.resetting) this.urc(`+CMTI: "SM",${index}`)
    return index
  }

  /** Messages still in SIM storage. */
  stored(): StoredSms[] {
    return [...this.storage.values()]
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
      const n = this.storage.size
      this.answer([`+CPMS: ${n},${this.capacity},${n},${this.capacity},${n},${this.capacity}`, 'OK'])
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
      if (!this.storage.delete(index)) {
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
    if (c.startsWith('+CMGS=')) {
      if (!this.textMode) {
        this.answer(['+CMS ERROR: 304'])
        return
      }
      const m = /^\+CMGS="([^"]+)"/i.exec(cmd)
      if (!m) {
        this.answer(['+CMS ERROR: 304'])
        return
      }
      this.pendingSend = { to: m[1]! }
      this.answer([], '\r\n> ')
      return
    }
    this.answer(['ERROR'])
    return
  }

  private readSms(index: number): void {
    if (!this.textMode) {
      this.answer(['+CMS ERROR: 302'])
      return
    }
    const m = this.storage.get(index)
    if (!m) {
      this.answer(['+CMS ERROR: 321'])
      return
    }
    const status = m.status
    m.status = 'REC READ'
    this.answer([`+CMGR: "${status}","${m.from}","","${m.scts}"`, ...m.text.split('\n'), 'OK'])
  }

  private listSms(c: string): void {
    if (!this.textMode) {
      this.answer(['+CMS ERROR: 302'])
      return
    }
    const which = /^\+CMGL(?:="([A-Z ]+)")?$/.exec(c)?.[1] ?? 'REC UNREAD'
    const lines: string[] = []
    for (const m of [...this.storage.values()].sort((a, b) => a.index - b.index)) {
      if (which !== 'ALL' && m.status !== which) continue
      lines.push(`+CMGL: ${m.index},"${m.status}","${m.from}","","${m.scts}"`, ...m.text.split('\n'))
      m.status = 'REC READ'
    }
    this.answer([...lines, 'OK'])
  }

  private finishSend(text: string, cancelled: boolean): void {
    const to = this.pendingSend!.to
    this.pendingSend = null
    if (cancelled) {
      this.answer(['OK'])
      return
    }
    const ref = this.nextRef
    this.nextRef = (this.nextRef + 1) % 256
    this.sent.push({ to, text, ref })
    this.answer([`+CMGS: ${ref}`, 'OK'])
  }
}
