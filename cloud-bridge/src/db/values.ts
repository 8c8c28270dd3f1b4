/**
 * The value rules shared by both engines (see types.ts): integers from the database become `bigint`,
 * parameters are checked before they leave, so no amount is ever silently rounded on either side.
 */
import { DbError } from './errors.js'

/** PostgreSQL type OIDs this module treats specially. */
export const OID = { int8: 20, numeric: 1700, bytea: 17, int8Array: 1016, numericArray: 1231 } as const

const INTEGER_TEXT = /^-?\d+$/
const INTEGRAL_NUMERIC = /^(-?\d+)(?:\.0*)?$/

/** Parse an int8 column's text form. */
export function parseInt8(text: string): bigint {
  if (!INTEGER_TEXT.test(text)) throw new DbError('not_integer', `int8 value is not an integer: ${text}`)
  return BigInt(text)
}

/** Parse a numeric column's text form: integral values only (sum() of int8 is numeric). */
export function parseNumeric(text: string): bigint {
  const m = INTEGRAL_NUMERIC.exec(text)
  if (!m)
    throw new DbError('not_integer', 'numeric value has a fraction; amounts are integers in minor units')
  return BigInt(m[1]!)
}

/** Parse a one-dimensional int8[] / numeric[] text form (`{1,NULL,3}`): integers need no quoting. */
export function parseIntArray(text: string, parse: (s: string) => bigint): Array<bigint | null> {
  const inner = text.slice(1, -1)
  if (inner === '') return []
  return inner.split(',').map((s) => (s === 'NULL' ? null : parse(s)))
}

/** Parse bytea's hex text form (`\x0102…`) into a Buffer. */
export function parseBytea(text: string): Buffer {
  return text.startsWith('\\x') ? Buffer.from(text.slice(2), 'hex') : Buffer.from(text, 'binary')
}

/** Array elements that need no quoting: ids, uuids, hex, words, numbers, ISO timestamps (never `NULL`). */
const PLAIN_ELEMENT = /^[A-Za-z0-9:._+-]+$/

/** What `sqlArray` takes as elements. */
export type SqlArrayElement = string | number | bigint | Date | Uint8Array | null | undefined

/** One element of an array literal. */
function arrayElement(v: SqlArrayElement): string {
  if (v === null || v === undefined) return 'NULL'
  if (typeof v === 'number') {
    if (Number.isInteger(v) && !Number.isSafeInteger(v))
      throw new DbError('unsafe_integer', 'integer parameter beyond 2^53 has lost precision; pass a bigint')
    return String(v)
  }
  if (typeof v === 'bigint') return v.toString()
  if (v instanceof Date) return v.toISOString()
  if (v instanceof Uint8Array)
    return `\\\\x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`
  if (PLAIN_ELEMENT.test(v) && v.toUpperCase() !== 'NULL') return v
  return `"${v.replace(/[\\"]/g, (m) => `\\${m}`)}"`
}

/**
 * A one-dimensional array parameter as its text literal (`{a,NULL,"b c"}`), for `$n::type[]` on either
 * engine. The drivers build the same literal element by element through their generic value conversion
 * (escaping every string, formatting dates by the local time zone); on the ingest path, with one array per
 * column of a 100-row batch, that conversion was a measurable share of the bridge's CPU per payment. Dates are
 * sent as UTC ISO timestamps, bytes as `\x` hex, integers exactly (a number beyond 2^53 is refused).
 */
export function sqlArray(values: readonly SqlArrayElement[]): string {
  let out = '{'
  for (let i = 0; i < values.length; i++) out += (i ? ',' : '') + arrayElement(values[i])
  return `${out}}`
}

/** Check and convert one parameter before it is sent. */
export function toParam(value: unknown): unknown {
  if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value)) {
    throw new DbError('unsafe_integer', 'integer parameter beyond 2^53 has lost precision; pass a bigint')
  }
  if (typeof value === 'bigint') return value.toString()
  // Array parameters (e.g. `= ANY($1::bigint[])`): the same rules for every element.
  if (Array.isArray(value)) return value.map(toParam)
  return value
}

/** Check and convert a parameter list. */
export function toParams(params: readonly unknown[] | undefined): unknown[] {
  return params ? params.map(toParam) : []
}
