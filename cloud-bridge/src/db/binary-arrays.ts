/**
 * Array parameters in PostgreSQL's binary array format. The ingest path sends every column of a batch as one
 * array parameter (`unnest($1::text[], …)`); as text, each array is built by escaping every element on this side
 * and parsed back element by element by the server (`array_in`, with `timestamptz_in` and `byteain` under it: about
 * an eighth of PostgreSQL's CPU per payment). In binary each element is a length and its bytes: nothing to
 * escape here, nothing to parse there (docs/BENCHMARKS.md).
 *
 * Which parameters: those the statement casts to an array of a type below (`$n::text[]`), found once per
 * statement text. A parameter is sent in binary only when every element converts exactly; otherwise it goes as
 * text and the server judges it as before (the same errors for the same bad input).
 */

/**
 * An element type sent in binary: its OID; for one element an upper bound of its size in bytes (−1: it does not
 * convert exactly), and how to write it (returning the bytes written, or −1). One buffer is allocated per array
 * from the bounds and each element written once.
 */
interface Encoder {
  oid: number
  bound(v: unknown): number
  write(v: unknown, out: Buffer, off: number): number
}

const INT8_MIN = -(2n ** 63n)
const INT8_MAX = 2n ** 63n - 1n
const INTEGER_TEXT = /^-?\d{1,19}$/
/** PostgreSQL timestamps count microseconds from 2000-01-01T00:00:00Z. */
const PG_EPOCH_MS = 946_684_800_000
const TWO_32 = 2 ** 32

/** A safe integer as a big-endian int64, without a BigInt. */
function writeSafeInt64(n: number, out: Buffer, off: number): number {
  const hi = Math.floor(n / TWO_32)
  out.writeInt32BE(hi, off)
  out.writeUInt32BE(n - hi * TWO_32, off + 4)
  return 8
}

const int8: Encoder = {
  oid: 20,
  bound: (v) => (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'string' ? 8 : -1),
  write: (v, out, off) => {
    if (typeof v === 'number') return Number.isSafeInteger(v) ? writeSafeInt64(v, out, off) : -1
    if (typeof v === 'string') {
      if (!INTEGER_TEXT.test(v)) return -1
      if (v.length <= 15) return writeSafeInt64(Number(v), out, off)
      v = BigInt(v)
    }
    const n = v as bigint
    if (n < INT8_MIN || n > INT8_MAX) return -1
    out.writeBigInt64BE(n, off)
    return 8
  },
}

const int4: Encoder = {
  oid: 23,
  bound: (v) => (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'string' ? 4 : -1),
  write: (v, out, off) => {
    const n = typeof v === 'string' ? (INTEGER_TEXT.test(v) ? Number(v) : Number.NaN) : Number(v)
    if (!Number.isInteger(n) || n < -(2 ** 31) || n >= 2 ** 31) return -1
    out.writeInt32BE(n, off)
    return 4
  },
}

/**
 * A string's UTF-8 bytes at `off`; returns how many. ASCII is copied a character at a time (a short string costs
 * less so than through Buffer.write, whose call dominates at ids' lengths); anything else goes through it.
 */
function writeString(s: string, out: Buffer, off: number): number {
  const n = s.length
  for (let j = 0; j < n; j++) {
    const c = s.charCodeAt(j)
    if (c > 0x7f) return out.write(s, off, 'utf8')
    out[off + j] = c
  }
  return n
}

const text: Encoder = {
  oid: 25,
  // UTF-8 takes at most 3 bytes per UTF-16 unit; an integer's text at most 20 characters.
  bound: (v) =>
    typeof v === 'string' ? 3 * v.length : typeof v === 'bigint' || typeof v === 'number' ? 24 : -1,
  write: (v, out, off) => {
    if (typeof v === 'string') return writeString(v, out, off)
    if (typeof v === 'number' && !Number.isSafeInteger(v)) return -1
    return writeString(String(v), out, off)
  },
}

/** Hex digit value by character code (−1: not a hex digit). */
const HEX = new Int8Array(128).fill(-1)
for (let i = 0; i < 16; i++) {
  HEX['0123456789abcdef'.charCodeAt(i)] = i
  HEX['0123456789ABCDEF'.charCodeAt(i)] = i
}

const uuid: Encoder = {
  oid: 2950,
  bound: (v) => (typeof v === 'string' ? 16 : -1),
  // The canonical form only (8-4-4-4-12 hex digits, either case); any other goes as text for the server to judge.
  write: (v, out, off) => {
    const s = v as string
    if (s.length !== 36) return -1
    let k = off
    for (let j = 0; j < 36; j += 2) {
      if (j === 8 || j === 13 || j === 18 || j === 23) {
        if (s.charCodeAt(j) !== 0x2d) return -1
        j--
        continue
      }
      const hi = HEX[s.charCodeAt(j)] ?? -1
      const lo = HEX[s.charCodeAt(j + 1)] ?? -1
      if (hi < 0 || lo < 0) return -1
      out[k++] = (hi << 4) | lo
    }
    return 16
  },
}

const bytea: Encoder = {
  oid: 17,
  bound: (v) => (v instanceof Uint8Array ? v.byteLength : -1),
  write: (v, out, off) => {
    out.set(v as Uint8Array, off)
    return (v as Uint8Array).byteLength
  },
}

const timestamptz: Encoder = {
  oid: 1184,
  bound: (v) => (v instanceof Date ? 8 : -1),
  write: (v, out, off) => {
    const ms = (v as Date).getTime()
    // Within ±142,000 years of 2000 the microseconds are a safe integer; an invalid Date (NaN) goes as text.
    return Number.isFinite(ms) && Math.abs(ms - PG_EPOCH_MS) < 2 ** 52 / 1000
      ? writeSafeInt64((ms - PG_EPOCH_MS) * 1000, out, off)
      : -1
  },
}

const boolean: Encoder = {
  oid: 16,
  bound: (v) => (typeof v === 'boolean' ? 1 : -1),
  write: (v, out, off) => {
    out[off] = v ? 1 : 0
    return 1
  },
}

const ENCODERS: Record<string, Encoder> = {
  text,
  bigint: int8,
  int8,
  int: int4,
  integer: int4,
  int4,
  uuid,
  bytea,
  timestamptz,
  boolean,
  bool: boolean,
}

const CAST = /\$(\d+)\s*::\s*([a-z0-9]+)\s*\[\]/gi

/**
 * The element type of each parameter the statement casts to a binary-encodable array (index: parameter number
 * − 1), or null when there is none. A parameter cast to two different types is left out.
 */
export function arrayCasts(sql: string): (string | undefined)[] | null {
  const out: (string | undefined)[] = []
  const conflicting = new Set<number>()
  for (const m of sql.matchAll(CAST)) {
    const i = Number(m[1]) - 1
    const type = m[2]!.toLowerCase()
    if (!(type in ENCODERS) || (out[i] !== undefined && out[i] !== type)) conflicting.add(i)
    else out[i] = type
  }
  for (const i of conflicting) out[i] = undefined
  return out.some((t) => t !== undefined) ? out : null
}

/**
 * A one-dimensional array in PostgreSQL's binary format (array_recv): dimensions, a null flag, the element
 * type, then each element as an int32 length (−1 for NULL) and its bytes. Null when an element does not convert
 * exactly (the caller sends the parameter as text instead).
 */
export function encodeArray(type: string, values: readonly unknown[]): Buffer | null {
  const enc = ENCODERS[type]
  if (!enc) return null
  const n = values.length
  let bound = n === 0 ? 12 : 20
  for (let i = 0; i < n; i++) {
    const v = values[i]
    if (v !== null && v !== undefined) {
      const b = enc.bound(v)
      if (b < 0) return null
      bound += b
    }
    bound += 4
  }
  const out = Buffer.allocUnsafe(bound)
  out.writeInt32BE(n === 0 ? 0 : 1, 0)
  out.writeInt32BE(0, 4)
  out.writeUInt32BE(enc.oid, 8)
  if (n === 0) return out
  out.writeInt32BE(n, 12)
  out.writeInt32BE(1, 16)
  let off = 20
  let hasNull = 0
  for (let i = 0; i < n; i++) {
    const v = values[i]
    if (v === null || v === undefined) {
      out.writeInt32BE(-1, off)
      hasNull = 1
      off += 4
      continue
    }
    const len = enc.write(v, out, off + 4)
    if (len < 0) return null
    out.writeInt32BE(len, off)
    off += 4 + len
  }
  if (hasNull) out.writeInt32BE(1, 4)
  return out.subarray(0, off)
}
