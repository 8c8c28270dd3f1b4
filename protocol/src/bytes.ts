/**
 * Byte helpers shared by every codec: hex, concatenation, constant-time comparison, and a bounds-checked
 * big-endian Reader/Writer whose failures are typed ProtocolErrors (never RangeError from a DataView).
 */
import { ProtocolError } from './errors.js'

export type Bytes = Uint8Array

const HEX = '0123456789abcdef'

/** Lowercase hex of `b`. */
export function toHex(b: Bytes): string {
  let s = ''
  for (let i = 0; i < b.length; i++) {
    const v = b[i]!
    s += HEX[v >> 4]! + HEX[v & 15]!
  }
  return s
}

/** Bytes of a hex string; throws ProtocolError('bad_encoding') on odd length or non-hex characters. */
export function fromHex(s: string): Bytes {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) {
    throw new ProtocolError('bad_encoding', 'not a hex string')
  }
  const out = new Uint8Array(s.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(s.slice(i * 2, i * 2 + 2), 16)
  return out
}

export function concat(...parts: Bytes[]): Bytes {
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/** Constant-time equality of two byte strings (length is not secret). */
export function equalBytes(a: Bytes, b: Bytes): boolean {
  if (a.length !== b.length) return false
  let d = 0
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!
  return d === 0
}

const enc = new TextEncoder()
const dec = new TextDecoder('utf-8', { fatal: true })

export function utf8(s: string): Bytes {
  return enc.encode(s)
}

/** Strict UTF-8 decoding: malformed input is ProtocolError('bad_encoding'). */
export function fromUtf8(b: Bytes): string {
  try {
    return dec.decode(b)
  } catch (cause) {
    throw new ProtocolError('bad_encoding', 'malformed UTF-8', { cause })
  }
}

export function u32be(n: number): Bytes {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, n >>> 0)
  return b
}

/** Sequential big-endian reader; every read is bounds-checked and fails with ProtocolError('truncated'). */
export class Reader {
  pos = 0
  private readonly view: DataView
  constructor(
    private readonly buf: Bytes,
    private readonly what: string,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new ProtocolError('truncated', `${this.what}: truncated`)
  }

  u8(): number {
    this.need(1)
    return this.view.getUint8(this.pos++)
  }

  u16(): number {
    this.need(2)
    const v = this.view.getUint16(this.pos)
    this.pos += 2
    return v
  }

  u32(): number {
    this.need(4)
    const v = this.view.getUint32(this.pos)
    this.pos += 4
    return v
  }

  /** A copy of the next `n` bytes (copies keep decoded objects independent of the input buffer). */
  bytes(n: number): Bytes {
    this.need(n)
    const out = this.buf.slice(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  /** The bytes read so far, from `start`. */
  since(start: number): Bytes {
    return this.buf.subarray(start, this.pos)
  }

  remaining(): number {
    return this.buf.length - this.pos
  }

  /** Assert the input is fully consumed. */
  end(): void {
    if (this.pos !== this.buf.length) {
      throw new ProtocolError('trailing_bytes', `${this.what}: ${this.buf.length - this.pos} trailing bytes`)
    }
  }
}

/** Growable big-endian writer. */
export class Writer {
  private parts: Bytes[] = []
  private n = 0

  u8(v: number): this {
    return this.raw(Uint8Array.of(v & 0xff))
  }

  u16(v: number): this {
    const b = new Uint8Array(2)
    new DataView(b.buffer).setUint16(0, v)
    return this.raw(b)
  }

  u32(v: number): this {
    return this.raw(u32be(v))
  }

  /** Append `b`, which must be exactly `len` bytes when `len` is given. */
  raw(b: Bytes, len?: number): this {
    if (len !== undefined && b.length !== len) {
      throw new ProtocolError('bad_length', `expected ${len} bytes, got ${b.length}`)
    }
    this.parts.push(b)
    this.n += b.length
    return this
  }

  get length(): number {
    return this.n
  }

  finish(): Bytes {
    return concat(...this.parts)
  }
}

/** Throw ProtocolError('bad_field') unless `n` is an integer in [min, max]. */
export function checkInt(n: number, min: number, max: number, what: string): void {
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ProtocolError('bad_field', `${what} must be an integer in [${min}, ${max}]`)
  }
}

export const U32_MAX = 0xffffffff
