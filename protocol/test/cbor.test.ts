import { Decoder } from 'cbor-x'
import fc from 'fast-check'
import t from 'tap'
import { encodeCanonical, toHex } from '../src/index.js'

const hex = (v: unknown) => toHex(encodeCanonical(v))

t.test('integers take the shortest head, at every boundary (RFC 8949 §4.2.1)', async (t) => {
  const cases: [number, string][] = [
    [0, '00'],
    [23, '17'],
    [24, '1818'],
    [255, '18ff'],
    [256, '190100'],
    [65535, '19ffff'],
    [65536, '1a00010000'],
    [0xffffffff, '1affffffff'],
    [0x100000000, '1b0000000100000000'],
    [1_767_229_201_000, '1b0000019b77119a68'],
    [Number.MAX_SAFE_INTEGER, '1b001fffffffffffff'],
    [-1, '20'],
    [-24, '37'],
    [-25, '3818'],
    [-67, '3842'],
    [-257, '390100'],
  ]
  for (const [n, h] of cases) t.equal(hex(n), h, String(n))
})

t.test('non-integers take the shortest float that keeps the value', async (t) => {
  t.equal(hex(1.5), 'f93e00')
  t.equal(hex(-0.0001220703125), 'f98800', 'smallest normal half, negative')
  t.equal(hex(2 ** -24), 'f90001', 'smallest subnormal half')
  t.equal(hex(100000.5), 'fa47c35040')
  t.equal(hex(0.1), 'fb3fb999999999999a')
  t.equal(hex(Number.POSITIVE_INFINITY), 'f97c00')
  t.equal(hex(Number.NaN), 'f97e00')
})

t.test('map keys sort by their encoded bytes; absent fields are left out', async (t) => {
  t.equal(hex({ bb: 1, a: 2, c: 3, aa: 4, x: undefined }), 'a46161026163036261610462626201')
  t.equal(
    hex({ b: new Uint8Array([1, 2]), a: [true, false, null], s: 'é' }),
    'a3616183f5f4f66162420102617362c3a9',
  )
})

t.test('refuses what no message carries', async (t) => {
  t.throws(() => encodeCanonical(1n), { code: 'bad_field' })
  t.throws(() => encodeCanonical(new Map()), { code: 'bad_field' })
  t.throws(() => encodeCanonical(new Date(0)), { code: 'bad_field' })
})

/**
 * What the decoder gives back for a JSON value: the value itself, except that a map key `__proto__` comes back
 * as `__proto_` (cbor-x's guard against prototype pollution; SPEC.md §8: no message has such a field).
 */
function asDecoded(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(asDecoded)
  if (value === null || typeof value !== 'object') return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    Object.defineProperty(out, k === '__proto__' ? '__proto_' : k, {
      value: asDecoded(v),
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return out
}

t.test('any JSON-like value round-trips through a general decoder', async (t) => {
  const decoder = new Decoder({ useRecords: false, mapsAsObjects: true })
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      const back = decoder.decode(encodeCanonical(value))
      t.same(back, asDecoded(JSON.parse(JSON.stringify(value))))
    }),
    { numRuns: 300 },
  )
})

t.test("a __proto__ key is data on the wire and never reaches a decoded object's prototype", async (t) => {
  const decoder = new Decoder({ useRecords: false, mapsAsObjects: true })
  const value = JSON.parse('{"__proto__":{"polluted":1},"a":{"__proto__":null}}')
  t.equal(hex(value), 'a26161a1695f5f70726f746f5f5ff6695f5f70726f746f5f5fa168706f6c6c7574656401')
  const back = decoder.decode(encodeCanonical(value))
  t.same(Object.keys(back), ['a', '__proto_'])
  t.equal(Object.getPrototypeOf(back), Object.prototype)
  t.equal(({} as Record<string, unknown>).polluted, undefined)
  t.same(back, asDecoded(value))
})
