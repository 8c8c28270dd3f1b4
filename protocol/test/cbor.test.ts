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

t.test('any JSON-like value round-trips through a general decoder', async (t) => {
  const decoder = new Decoder({ useRecords: false, mapsAsObjects: true })
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      const back = decoder.decode(encodeCanonical(value))
      t.same(back, JSON.parse(JSON.stringify(value)))
    }),
    { numRuns: 300 },
  )
})
