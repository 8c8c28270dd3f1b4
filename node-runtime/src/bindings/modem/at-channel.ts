/**
 * The AT command channel over one serial port: one command in flight at a time (a FIFO queue), a timeout per
 * command, the "> " prompt of AT+CMGS, and unsolicited result codes (URCs such as +CMTI or RDY) picked out of
 * the byte stream even while a response is being read. Lines that fit neither the pending command nor a known
 * URC are counted as garbage and dropped: cheap UARTs and chatty firmware produce them.
 *
 * Message bodies are only ever taken in PDU mode: the line after a `+CMGR:`/`+CMGL:` header must be hex, so no
 * text a sender writes (a line reading `OK`, `ERROR`, `RING`, `+CMTI: …`) can end an answer or pose as a URC.
 */
import type { Duplex } from 'node:stream'
import { ModemError } from './modem.js'

/** The part of serialport's `SerialPortStream` the channel uses; `SerialPort` and `SerialPortMock` both fit. */
export interface SerialPortLike extends Pick<Duplex, 'on' | 'off' | 'write'> {
  readonly isOpen: boolean
  open(callback?: (err: Error | null) => void): void
  close(callback?: (err: Error | null) => void): void
}

/** One AT command to run. */
export interface AtRequest {
  /** The full command without the trailing CR, e.g. `AT+CSQ`. */
  command: string
  timeoutMs: number
  /** Prefixes of the information lines this command answers with, e.g. `['+CSQ:']`. */
  infoPrefixes?: string[]
  /**
   * PDU bodies: the hex line following each information line is part of the answer (+CMGR / +CMGL in PDU
   * mode). Anything else there is treated as usual: a final result code ends the answer, a URC is dispatched.
   */
  pduBodies?: boolean
  /** Text to send after the "> " prompt; the channel appends Ctrl-Z. */
  promptText?: string
}

/** Callbacks for what arrives outside a command's answer. */
export interface AtChannelEvents {
  onUrc(line: string): void
  /** The modem echoed a command back (it has lost its ATE0 setting). */
  onEcho?(command: string): void
  onGarbage?(line: string): void
}

/** Line prefixes a modem may send at any moment. */
const URC_PREFIXES = [
  '+CMTI:',
  '+CMT:',
  '+CDSI:',
  '+CREG:',
  '+CGREG:',
  '+CEREG:',
  '+CPIN:',
  '+CFUN:',
  '+QIND:',
  '+CRING:',
  'RDY',
  'SMS DONE',
  'PB DONE',
  'RING',
  'NO CARRIER',
  'POWERED DOWN',
]

const FINAL_ERROR = /^(ERROR|\+CME ERROR:.*|\+CMS ERROR:.*|NO CARRIER|COMMAND NOT SUPPORT)$/

interface Pending {
  req: AtRequest
  resolve(lines: string[]): void
  reject(err: Error): void
  lines: string[]
  /** An information line was just taken and its PDU body is due. */
  bodyDue: boolean
  promptSent: boolean
  timer?: ReturnType<typeof setTimeout>
}

const HEX_LINE = /^(?:[0-9A-Fa-f]{2})+$/

/** A queue of AT commands over one port, with URC dispatch. */
export class AtChannel {
  /** Lines dropped as garbage since construction. */
  garbageLines = 0
  private readonly queue: Pending[] = []
  private current: Pending | null = null
  private rest = ''
  private attached = false
  private readonly onData = (chunk: Buffer) => this.receive(chunk.toString('latin1'))

  constructor(
    private readonly port: SerialPortLike,
    private readonly events: AtChannelEvents,
  ) {}

  /** Starts listening to the port. */
  attach(): void {
    if (this.attached) return
    this.port.on('data', this.onData)
    this.attached = true
  }

  /** Stops listening and fails every queued command with `err`. */
  detach(err: Error = new ModemError('STOPPED', 'channel closed')): void {
    if (this.attached) this.port.off('data', this.onData)
    this.attached = false
    this.failAll(err)
    this.rest = ''
  }

  /** Fails the command in flight and all queued ones (used before a reset or reopen). */
  failAll(err: Error): void {
    const all = this.current ? [this.current, ...this.queue] : [...this.queue]
    this.queue.length = 0
    this.current = null
    for (const p of all) {
      clearTimeout(p.timer)
      p.reject(err)
    }
  }

  /** Drops buffered partial input (after a modem reset the half-line before it means nothing). */
  discardInput(): void {
    this.rest = ''
  }

  /** Queues a command; resolves with its information lines when the modem says OK. */
  exec(req: AtRequest): Promise<string[]> {
    return new Promise<string[]>((resolve, reject) => {
      this.queue.push({ req, resolve, reject, lines: [], bodyDue: false, promptSent: false })
      this.pump()
    })
  }

  private pump(): void {
    if (this.current || this.queue.length === 0) return
    const p = this.queue.shift()!
    this.current = p
    p.timer = setTimeout(() => {
      if (this.current !== p) return
      this.current = null
      // Leave text-entry mode so the modem does not swallow the next command as message text.
      if (p.promptSent || p.req.promptText !== undefined) this.port.write('\x1b')
      p.reject(new ModemError('TIMEOUT', `${p.req.command} got no answer in ${p.req.timeoutMs} ms`))
      this.pump()
    }, p.req.timeoutMs)
    this.port.write(`${p.req.command}\r`, (err) => {
      if (err && this.current === p)
        this.finish(p, new ModemError('PORT_ERROR', 'write failed', { cause: err }))
    })
  }

  private finish(p: Pending, result: string[] | Error): void {
    clearTimeout(p.timer)
    this.current = null
    if (result instanceof Error) p.reject(result)
    else p.resolve(result)
    this.pump()
  }

  private receive(text: string): void {
    this.rest += text
    const parts = this.rest.split(/\r\n|\r|\n/)
    this.rest = parts.pop() ?? ''
    for (const raw of parts) {
      const line = raw.trim()
      if (line.length > 0) this.line(line)
    }
    const p = this.current
    if (p && p.req.promptText !== undefined && !p.promptSent && this.rest.trimStart().startsWith('>')) {
      this.rest = ''
      p.promptSent = true
      this.port.write(`${p.req.promptText}\x1a`, (err) => {
        if (err && this.current === p)
          this.finish(p, new ModemError('PORT_ERROR', 'write failed', { cause: err }))
      })
    }
    // A modem that never ends a line must not grow the buffer without bound.
    if (this.rest.length > 4096) this.rest = ''
  }

  private line(line: string): void {
    const p = this.current
    if (p && line === p.req.command) {
      this.events.onEcho?.(line)
      return
    }
    if (p && line === 'OK') {
      this.finish(p, p.lines)
      return
    }
    if (p && FINAL_ERROR.test(line)) {
      this.finish(p, new ModemError('AT_ERROR', `${p.req.command} failed: ${line}`))
      return
    }
    if (p?.bodyDue && HEX_LINE.test(line)) {
      p.lines.push(line)
      p.bodyDue = false
      return
    }
    if (p?.req.infoPrefixes?.some((pre) => line.startsWith(pre))) {
      p.lines.push(line)
      p.bodyDue = p.req.pduBodies === true
      return
    }
    if (URC_PREFIXES.some((pre) => line.startsWith(pre))) {
      this.events.onUrc(line)
      return
    }
    this.garbageLines++
    this.events.onGarbage?.(line)
  }
}
