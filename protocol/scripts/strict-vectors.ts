/**
 * Strict Ed25519 vectors (SPEC.md §2.1): signatures that lenient verifiers accept and opg refuses, each built
 * from a fixed secret so the file can be rebuilt byte for byte. `valid` is what every opg backend must answer.
 */
import { ed25519 } from '@noble/curves/ed25519.js'
import { sha512 } from '@noble/hashes/sha2.js'
import { concat, toHex, utf8 } from '../src/bytes.js'
import { ED25519_L, leToBigInt } from '../src/crypto/ed25519-strict.js'

const Point = ed25519.Point
const L = ED25519_L

function le32(n: bigint): Uint8Array {
  const out = new Uint8Array(32)
  let v = n
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 0xffn)
    v >>= 8n
  }
  return out
}

/** The secret scalar and public key of a seed (RFC 8032 §5.1.5). */
function expand(seed: Uint8Array): { a: bigint; pub: Uint8Array } {
  const h = sha512(seed).slice(0, 32)
  h[0]! &= 248
  h[31]! &= 127
  h[31]! |= 64
  const a = leToBigInt(h) % L
  return { a, pub: Point.BASE.multiply(a).toBytes() }
}

/** Sign with a chosen R encoding: S = r + H(R || A || M)·a, where R's encoding is `rBytes` (may be crafted). */
function signWith(
  a: bigint,
  pub: Uint8Array,
  rScalar: bigint,
  rBytes: Uint8Array,
  msg: Uint8Array,
): Uint8Array {
  const k = leToBigInt(sha512(concat(rBytes, pub, msg))) % L
  return concat(rBytes, le32((rScalar + k * a) % L))
}

export interface StrictCase {
  name: string
  why: string
  publicKey: string
  message: string
  signature: string
  /** What an opg verifier answers. */
  valid: boolean
  /**
   * What common verifiers answer (the reason each rule exists): node:crypto/OpenSSL alone, and @noble/curves
   * with `zip215: true` (its default) and `zip215: false` (its RFC 8032 mode, cofactored, small-order R allowed).
   */
  others: { openssl: boolean; nobleZip215: boolean; nobleRfc8032: boolean }
}

export function buildStrictVectors(): { description: string; cases: StrictCase[] } {
  const seed = sha512(utf8('opg test vector strict-ed25519')).slice(0, 32)
  const { a, pub } = expand(seed)
  const msg = utf8('opg/v1 token\u0000strict vector body')
  const good = ed25519.sign(msg, seed)
  const rScalar = leToBigInt(sha512(utf8('opg test vector strict r'))) % L
  const sOf = (sig: Uint8Array) => leToBigInt(sig.subarray(32))
  const torsion8 = Point.fromHex('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05')
  const identity = new Uint8Array(32)
  identity[0] = 1
  // The identity with y = p + 1: the only kind of y ≥ p a small point can take.
  const identityNonCanonical = Uint8Array.from([0xee, ...new Array(30).fill(0xff), 0x7f])
  const cases: StrictCase[] = [
    {
      name: 'valid',
      why: 'an ordinary RFC 8032 signature',
      publicKey: toHex(pub),
      message: toHex(msg),
      signature: toHex(good),
      valid: true,
      others: { openssl: true, nobleZip215: true, nobleRfc8032: true },
    },
    {
      name: 'non_canonical_s',
      why: 'the valid signature with S + L in place of S: a mauled copy anyone can make without the key',
      publicKey: toHex(pub),
      message: toHex(msg),
      signature: toHex(concat(good.subarray(0, 32), le32(sOf(good) + L))),
      valid: false,
      others: { openssl: false, nobleZip215: false, nobleRfc8032: false },
    },
    {
      name: 'mixed_order_r',
      why: 'R = rB + T with T of order 8: passes the cofactored equation, fails the cofactorless one',
      publicKey: toHex(pub),
      message: toHex(msg),
      signature: toHex(signWith(a, pub, rScalar, Point.BASE.multiply(rScalar).add(torsion8).toBytes(), msg)),
      valid: false,
      others: { openssl: false, nobleZip215: true, nobleRfc8032: true },
    },
    {
      name: 'non_canonical_r',
      why: 'R encoded with y ≥ p (the identity as p + 1), with S = H(R || A || M)·a so the equation holds',
      publicKey: toHex(pub),
      message: toHex(msg),
      signature: toHex(signWith(a, pub, 0n, identityNonCanonical, msg)),
      valid: false,
      others: { openssl: false, nobleZip215: true, nobleRfc8032: false },
    },
    {
      name: 'small_order_r',
      why: 'R is the identity (small order), S = H(R || A || M)·a',
      publicKey: toHex(pub),
      message: toHex(msg),
      signature: toHex(signWith(a, pub, 0n, identity, msg)),
      valid: false,
      others: { openssl: true, nobleZip215: true, nobleRfc8032: true },
    },
    {
      name: 'small_order_a',
      why: 'A and R the identity and S = 0: verifies for every message under a lenient verifier',
      publicKey: toHex(identity),
      message: toHex(msg),
      signature: toHex(concat(identity, new Uint8Array(32))),
      valid: false,
      others: { openssl: true, nobleZip215: true, nobleRfc8032: false },
    },
    {
      name: 'non_canonical_a',
      why: 'A is the identity encoded as y = p + 1, R the identity, S = 0',
      publicKey: toHex(identityNonCanonical),
      message: toHex(msg),
      signature: toHex(concat(identity, new Uint8Array(32))),
      valid: false,
      others: { openssl: true, nobleZip215: true, nobleRfc8032: false },
    },
  ]
  return {
    description:
      'Strict Ed25519 (SPEC.md §2.1). Secret seed: first 32 bytes of SHA-512("opg test vector strict-ed25519"). ' +
      'valid = what every opg verifier answers; others = what OpenSSL and @noble/curves (zip215 true/false) answer.',
    cases,
  }
}
