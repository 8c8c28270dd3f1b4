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

/** What an array parameter's elements may be (binary-arrays.ts sends them in binary on PostgreSQL). */
export type SqlArrayElement = string | number | bigint | Date | Uint8Array | null | undefined

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
