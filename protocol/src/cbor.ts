/**
 * Deterministic CBOR encoding (RFC 8949 §4.2.1) for the box ↔ bridge messages (SPEC.md §8).
 *
 * Two implementations must produce the same bytes for the same message, so that vectors can be compared byte for
 * byte and a sealed payload can be rebuilt by anyone holding the key: every length and integer in its shortest
 * form, definite lengths only, integers as CBOR integers (never floats), a non-integer number as the shortest
 * float that keeps its value, and map keys sorted by the bytewise order of their encodings. Keys whose value is
 * `undefined` are absent fields and are left out. Decoding stays liberal (cbor-x in mqtt.ts): boxes already in
 * the field send the older, non-canonical form and must still be read.
 */
import { ProtocolError } from './errors.js'

class Out {
  #buf = new Uint8Array(256)
  #len = 0
  push(...b: number[]): void {
    this.#room(b.length)
    for (const v of b) this.#buf[this.#len++] = v
  }
  bytes(b: Uint8Array): void {
    this.#room(b.length)
    this.#buf.set(b, this.#len)
    this.#len += b.length
  }
  result(): Uint8Array {
    return this.#buf.slice(0, this.#len)
  }
  #room(n: number): void {
    if (this.#len + n <= this.#buf.length) return
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + n))
    next.set(this.#buf.subarray(0, this.#len))
    this.#buf = next
  }
}

/** Major type and argument in the shortest form (RFC 8949 §4.2.1, first rule). */
function head(out: Out, major: number, n: number): void {
  const m = major << 5
  if (n < 24) out.push(m | n)
  else if (n < 0x100) out.push(m | 24, n)
  else if (n < 0x10000) out.push(m | 25, n >>> 8, n & 0xff)
  else if (n < 0x100000000) out.push(m | 26, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff)
  else {
    const hi = Math.floor(n / 0x100000000)
    const lo = n >>> 0
    out.push(m | 27, hi >>> 24, (hi >>> 16) & 0xff, (hi >>> 8) & 0xff, hi & 0xff)
    out.push(lo >>> 24, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff)
  }
}

/** IEEE 754 half-precision bits of `x`, or null when half precision does not keep its value exactly. */
function toHalf(x: number): number | null {
  if (Number.isNaN(x)) return 0x7e00
  const f32 = new DataView(new ArrayBuffer(4))
  f32.setFloat32(0, x)
  if (f32.getFloat32(0) !== x && Number.isFinite(x)) return null
  const bits = f32.getUint32(0)
  const sign = (bits >>> 16) & 0x8000
  const exp = (bits >>> 23) & 0xff
  const mant = bits & 0x7fffff
  if (exp === 0xff) return mant === 0 ? sign | 0x7c00 : null
  if (exp === 0 && mant === 0) return sign
  const e = exp - 127
  if (e >= -14 && e <= 15) {
    if (mant & 0x1fff) return null
    return sign | ((e + 15) << 10) | (mant >>> 13)
  }
  // Subnormal half: |x| = k · 2^-24 with k in [1, 1023]; only exact ones.
  const units = Math.abs(x) * 2 ** 24
  if (e < -14 && Number.isInteger(units) && units < 1024) return sign | units
  return null
}

function float(out: Out, x: number): void {
  const half = toHalf(x)
  if (half !== null) {
    out.push(0xf9, half >>> 8, half & 0xff)
    return
  }
  const dv = new DataView(new ArrayBuffer(8))
  dv.setFloat32(0, x)
  if (dv.getFloat32(0) === x) {
    out.push(0xfa)
    out.bytes(new Uint8Array(dv.buffer, 0, 4))
    return
  }
  dv.setFloat64(0, x)
  out.push(0xfb)
  out.bytes(new Uint8Array(dv.buffer, 0, 8))
}

const text = new TextEncoder()

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}

function item(out: Out, v: unknown, depth: number): void {
  if (depth > 64) throw new ProtocolError('bad_field', 'CBOR value nested too deeply')
  if (v === null || typeof v === 'boolean') {
    out.push(v === null ? 0xf6 : v ? 0xf5 : 0xf4)
    return
  }
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) float(out, v)
    else if (v >= 0) head(out, 0, v)
    else head(out, 1, -1 - v)
    return
  }
  if (typeof v === 'string') {
    const b = text.encode(v)
    head(out, 3, b.length)
    out.bytes(b)
    return
  }
  if (v instanceof Uint8Array) {
    head(out, 2, v.length)
    out.bytes(v)
    return
  }
  if (Array.isArray(v)) {
    head(out, 4, v.length)
    for (const e of v) item(out, e, depth + 1)
    return
  }
  const proto = typeof v === 'object' ? Object.getPrototypeOf(v) : undefined
  if (proto === Object.prototype || proto === null) {
    const entries = Object.entries(v as object as Record<string, unknown>)
      .filter(([, val]) => val !== undefined)
      .map(([k, val]) => ({ key: encodeCanonical(k), val }))
      .sort((a, b) => compareBytes(a.key, b.key))
    head(out, 5, entries.length)
    for (const e of entries) {
      out.bytes(e.key)
      item(out, e.val, depth + 1)
    }
    return
  }
  throw new ProtocolError('bad_field', `no CBOR form for a ${typeof v}`)
}

/**
 * Encode plain data (null, booleans, numbers, strings, Uint8Array, arrays, plain objects) as deterministic CBOR.
 * Anything else (bigint, Map, Date, class instances) is a ProtocolError('bad_field'): no message carries it.
 */
export function encodeCanonical(value: unknown): Uint8Array {
  const out = new Out()
  item(out, value, 0)
  return out.result()
}
