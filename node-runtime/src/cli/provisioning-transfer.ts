/**
 * Receiving a provisioning bundle over the serial console (`opg-node receive-provisioning`), and the framing
 * both ends share (the sender is `opg-provision push`). Consoles mangle binary and drop bytes, so frames are
 * ASCII lines, each with a CRC-32, sent stop-and-wait: the receiver answers every frame with an ACK, or a NAK
 * asking for it again. Lines that are not frames (a login prompt, kernel messages) are ignored. The bundle is
 * held in memory until every file matches its manifest entry (size and SHA-256), then written 0600 with the
 * manifest last — a cut transfer leaves nothing half-written.
 *
 *   OPGP1 <seq> <type> <base64 payload or -> <crc32 of the text before it, 8 hex>
 *   types: F file header {name,size,sha256} (JSON) · D file data · E end · A ack · N nak ("retry:…"/"fatal:…")
 */
import { createHash } from 'node:crypto'
import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Duplex } from 'node:stream'
import { crc32 } from 'node:zlib'

export const FRAME_PREFIX = 'OPGP1'
/** Bytes of file data per D frame: lines stay under 256 characters. */
export const CHUNK_BYTES = 180
const MAX_LINE = 1024
const MAX_FILE = 64 * 1024
const MAX_TOTAL = 1024 * 1024
const MAX_FILES = 16
const NAME = /^[a-z0-9][a-z0-9.-]{0,63}$/
const MANIFEST = 'manifest.json'

export type FrameType = 'F' | 'D' | 'E' | 'A' | 'N'

/** One frame. */
export interface Frame {
  seq: number
  type: FrameType
  payload: Uint8Array
}

/** A transfer failed; `code` is stable. */
export class TransferError extends Error {
  override readonly name = 'TransferError'
  readonly code: 'timeout' | 'refused' | 'invalid'
  constructor(code: TransferError['code'], message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options)
    this.code = code
  }
}

/** The frame as a line (with its newline). */
export function encodeFrame(f: Frame): string {
  const body = `${FRAME_PREFIX} ${f.seq} ${f.type} ${f.payload.length ? Buffer.from(f.payload).toString('base64') : '-'}`
  return `${body} ${crc32(body).toString(16).padStart(8, '0')}\n`
}

/** A frame; 'corrupt' for a line that starts like a frame but fails its checksum or format; undefined for noise. */
export function parseFrame(line: string): Frame | 'corrupt' | undefined {
  const text = line.trim()
  if (!text.startsWith(`${FRAME_PREFIX} `)) return undefined
  const m = /^(OPGP1 (\d{1,9}) ([FDEAN]) ([A-Za-z0-9+/=]+|-)) ([0-9a-f]{8})$/.exec(text)
  if (!m || crc32(m[1]!).toString(16).padStart(8, '0') !== m[5]) return 'corrupt'
  const payload = m[4] === '-' ? new Uint8Array(0) : new Uint8Array(Buffer.from(m[4]!, 'base64'))
  return { seq: Number(m[2]), type: m[3] as FrameType, payload }
}

/** Lines read from a serial port (or any duplex stream), one at a time with a timeout. */
export class LineChannel {
  readonly #port: Pick<Duplex, 'on' | 'off' | 'write'>
  #buf = ''
  readonly #lines: string[] = []
  #wake: (() => void) | null = null
  readonly #onData = (chunk: Buffer | string) => {
    this.#buf += chunk.toString('latin1')
    let i = this.#buf.search(/[\r\n]/)
    while (i >= 0) {
      const line = this.#buf.slice(0, i)
      this.#buf = this.#buf.slice(i + 1)
      if (line.length > 0) this.#lines.push(line)
      i = this.#buf.search(/[\r\n]/)
    }
    // A line that never ends is noise; drop it rather than grow without bound.
    if (this.#buf.length > MAX_LINE) this.#buf = ''
    this.#wake?.()
  }

  constructor(port: Pick<Duplex, 'on' | 'off' | 'write'>) {
    this.#port = port
  }

  start(): void {
    this.#port.on('data', this.#onData)
  }

  stop(): void {
    this.#port.off('data', this.#onData)
    this.#wake?.()
  }

  /** The next line, or undefined after `timeoutMs` (or when `abort` resolves). */
  async next(timeoutMs: number, abort?: Promise<void>): Promise<string | undefined> {
    if (this.#lines.length > 0) return this.#lines.shift()
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      new Promise<void>((resolve) => {
        this.#wake = resolve
        timer = setTimeout(resolve, timeoutMs)
      }),
      ...(abort ? [abort] : []),
    ])
    clearTimeout(timer)
    this.#wake = null
    return this.#lines.shift()
  }

  /** Write a line and wait until it is handed to the port. */
  send(text: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#port.write(text, 'latin1', (err) => (err ? reject(err) : resolve()))
    })
  }
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')
const ack = (seq: number) => encodeFrame({ seq, type: 'A', payload: new Uint8Array(0) })
const nak = (seq: number, reason: string) =>
  encodeFrame({ seq, type: 'N', payload: new Uint8Array(Buffer.from(reason)) })

/**
 * Receive one bundle on `ch`; resolves with its files (manifest.json included) once every one matches the
 * manifest. Waits at most `timeoutMs` for the transfer to start and between frames once it has.
 */
export async function receiveBundle(
  ch: LineChannel,
  o: { timeoutMs: number; abort?: Promise<void>; commit?: (files: Map<string, Uint8Array>) => Promise<void> },
): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>()
  let expected = 0
  let total = 0
  let current: { name: string; size: number; sha256: string; parts: Buffer[]; got: number } | null = null
  const fatal = async (seq: number, reason: string): Promise<never> => {
    await ch.send(nak(seq, `fatal:${reason}`))
    throw new TransferError('invalid', reason)
  }
  const closeFile = async (seq: number) => {
    if (!current) return
    const bytes = new Uint8Array(Buffer.concat(current.parts))
    if (bytes.length !== current.size || sha256(bytes) !== current.sha256) {
      await fatal(seq, `${current.name} arrived damaged`)
    }
    files.set(current.name, bytes)
    current = null
  }
  for (;;) {
    const line = await ch.next(o.timeoutMs, o.abort)
    if (line === undefined)
      throw new TransferError('timeout', expected ? 'the sender went quiet' : 'no transfer started')
    const f = parseFrame(line)
    if (f === undefined || (f !== 'corrupt' && (f.type === 'A' || f.type === 'N'))) continue
    if (f === 'corrupt') {
      await ch.send(nak(expected, 'retry:checksum'))
      continue
    }
    // The sender missed our ACK and sent the frame again: acknowledge it again, do not apply it twice.
    if (f.seq === expected - 1) {
      await ch.send(ack(f.seq))
      continue
    }
    if (f.seq !== expected) {
      await ch.send(nak(expected, 'retry:sequence'))
      continue
    }
    if (f.type === 'F') {
      await closeFile(f.seq)
      let h: { name?: unknown; size?: unknown; sha256?: unknown }
      try {
        h = JSON.parse(Buffer.from(f.payload).toString('utf8'))
      } catch {
        h = {}
      }
      if (typeof h.name !== 'string' || !NAME.test(h.name) || files.has(h.name))
        await fatal(f.seq, 'bad file name')
      if (typeof h.size !== 'number' || !Number.isInteger(h.size) || h.size < 0 || h.size > MAX_FILE) {
        await fatal(f.seq, 'bad file size')
      }
      if (typeof h.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(h.sha256))
        await fatal(f.seq, 'bad file hash')
      total += h.size as number
      if (files.size >= MAX_FILES || total > MAX_TOTAL) await fatal(f.seq, 'bundle too large')
      current = {
        name: h.name as string,
        size: h.size as number,
        sha256: h.sha256 as string,
        parts: [],
        got: 0,
      }
    } else if (f.type === 'D') {
      if (!current || current.got + f.payload.length > current.size) await fatal(f.seq, 'data outside a file')
      current!.parts.push(Buffer.from(f.payload))
      current!.got += f.payload.length
    } else {
      await closeFile(f.seq)
      const problem = checkManifest(files)
      if (problem) await fatal(f.seq, problem)
      try {
        await o.commit?.(files)
      } catch (err) {
        await ch.send(nak(f.seq, 'fatal:cannot write the bundle'))
        throw new TransferError('invalid', 'cannot write the bundle', { cause: err })
      }
      await ch.send(ack(f.seq))
      return files
    }
    await ch.send(ack(f.seq))
    expected++
  }
}

/**
 * The problem with a bundle received whole (over BLE): a bad file name, too many or too large files, or a
 * manifest that does not match; undefined when it may be written.
 */
export function bundleProblem(files: Map<string, Uint8Array>): string | undefined {
  let total = 0
  if (files.size > MAX_FILES + 1) return 'bundle too large'
  for (const [name, bytes] of files) {
    if (!NAME.test(name)) return 'bad file name'
    if (bytes.length > MAX_FILE) return 'bad file size'
    total += bytes.length
  }
  if (total > MAX_TOTAL) return 'bundle too large'
  return checkManifest(files)
}

/** Every file the manifest lists arrived with its size and hash, and nothing else did; else the problem. */
function checkManifest(files: Map<string, Uint8Array>): string | undefined {
  const raw = files.get(MANIFEST)
  if (!raw) return 'no manifest.json'
  let listed: { name: string; size: number; sha256: string }[]
  try {
    listed = JSON.parse(Buffer.from(raw).toString('utf8')).files
    if (!Array.isArray(listed)) return 'manifest.json lists no files'
  } catch {
    return 'manifest.json is not JSON'
  }
  for (const e of listed) {
    const got = files.get(e.name)
    if (!got || got.length !== e.size || sha256(got) !== e.sha256)
      return `${e.name} does not match the manifest`
  }
  if (files.size !== listed.length + 1) return 'files not in the manifest'
  return undefined
}

/** Write received files to `dir` (0700), each 0600, the manifest last. */
export async function writeReceived(dir: string, files: Map<string, Uint8Array>): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const order = [...files.keys()].sort((a, b) => Number(a === MANIFEST) - Number(b === MANIFEST))
  for (const name of order) {
    const path = join(dir, name)
    await writeFile(path, files.get(name)!, { mode: 0o600 })
    await chmod(path, 0o600)
  }
}

/** What `opg-node receive-provisioning` needs. */
export interface ReceiveOptions {
  /** Serial device, e.g. /dev/ttyGS0 (USB gadget) or /dev/serial0. */
  path: string
  /** Where the bundle is written (the folder the config's key paths name, e.g. /boot/opg). */
  dir: string
  baudRate: number
  timeoutMs: number
  stdout: (line: string) => void
  /** Resolves when the process is asked to stop. */
  stopSignal?: Promise<void>
}

/** Open the port, receive one bundle, write it; resolves with the file names written. */
export async function receiveProvisioning(o: ReceiveOptions): Promise<string[]> {
  const { SerialPort } = await import('serialport')
  const port = new SerialPort({ path: o.path, baudRate: o.baudRate, autoOpen: false })
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())))
  const ch = new LineChannel(port)
  ch.start()
  try {
    o.stdout(`waiting for a provisioning bundle on ${o.path}`)
    const files = await receiveBundle(ch, {
      timeoutMs: o.timeoutMs,
      ...(o.stopSignal ? { abort: o.stopSignal } : {}),
      commit: (f) => writeReceived(o.dir, f),
    })
    o.stdout(`received ${[...files.keys()].join(', ')} into ${o.dir}`)
    return [...files.keys()]
  } finally {
    ch.stop()
    await new Promise<void>((resolve) => port.close(() => resolve()))
  }
}
