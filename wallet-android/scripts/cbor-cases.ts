/**
 * Seeded random values and their deterministic CBOR from the reference encoder (protocol/src/cbor.ts), as one JSON
 * array `[{v, hex}]` on stdout: the Java encoder must produce the same bytes for every one (CborCrossTest). The
 * values lean on what the vectors cover thinly: floats at the half/single/double boundaries, subnormals, integers
 * around 2^32 and 2^53, keys whose order by encoded bytes differs from alphabetical order, nesting.
 * Usage: node --import tsx wallet-android/scripts/cbor-cases.ts [count] [seed]
 */
import { encodeCanonical, toHex } from '@opg/protocol'

const count = Number(process.argv[2] ?? 3000)
let seed = Number(process.argv[3] ?? 12345)
const rnd = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed / 2147483648
}
const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)] as T
const EDGES = [
  65504,
  65505,
  65520,
  6.103515625e-5,
  2 ** -24,
  2 ** -24 * 3,
  2 ** -25,
  1e300,
  2 ** 53,
  2 ** 64,
  -(2 ** 63),
  0.1,
  1 / 3,
  3.4028234663852886e38,
  1.401298464324817e-45,
  2 ** 32,
  2 ** 32 - 1,
  2 ** 53 - 1,
  -(2 ** 53 - 1),
  0.5,
]

function num(): number {
  switch (Math.floor(rnd() * 8)) {
    case 0:
      return Math.floor(rnd() * 2 ** 53) * (rnd() < 0.5 ? -1 : 1)
    case 1:
      return Math.floor(rnd() * 70000) - 35000
    case 2:
      return (rnd() - 0.5) * 10 ** Math.floor(rnd() * 40 - 20)
    case 3:
      return Math.fround((rnd() - 0.5) * 10 ** Math.floor(rnd() * 20 - 10))
    case 4:
      return (Math.floor(rnd() * 4096) / 1024) * 2 ** Math.floor(rnd() * 40 - 30)
    case 5:
      return pick(EDGES)
    case 6:
      return Math.floor(rnd() * 2 ** 33)
    default:
      return Math.floor(rnd() * 300) / 8
  }
}

const TEXTS = ['', 'a', 'Z', 'é', '€uro', 'x'.repeat(24), '🙂', 'ab']
const KEYS = ['v', 'at', 'b', 'Z', 'a', 'aa', 'é', 'x'.repeat(23), 'y'.repeat(24), '10', '€', 'zz']

function value(depth: number): unknown {
  switch (Math.floor(rnd() * (depth > 3 ? 4 : 6))) {
    case 0:
    case 3:
      return num()
    case 1:
      return pick(TEXTS)
    case 2:
      return pick([true, false, null])
    case 4:
      return Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth + 1))
    default: {
      const o: Record<string, unknown> = {}
      for (let i = Math.floor(rnd() * 6); i > 0; i--) o[pick(KEYS)] = value(depth + 1)
      return o
    }
  }
}

const cases = Array.from({ length: count }, () => {
  const v = value(0)
  return { v, hex: toHex(encodeCanonical(v)) }
})
process.stdout.write(`${JSON.stringify(cases)}\n`)
