/**
 * Strict Ed25519 (SPEC.md §2.1): the encoding checks RFC 8032 §5.1.7 asks for, made explicit so every backend
 * accepts exactly the same signatures. Lenient verifiers (OpenSSL's, ZIP-215) accept S ≥ L, non-canonical point
 * encodings and small-order keys, which lets a third party turn one valid signature into another valid one
 * (a "mauled" signature) or lets one signature verify under several keys. A signature that can incriminate a
 * wallet must not be malleable, so both backends run these checks before the verification equation.
 *
 * Pure byte comparisons (no point decoding, no bigint arithmetic), so the check costs little next to the
 * verification itself: the bridge runs it for every token it ingests.
 */

/** The field prime p = 2^255 − 19. */
const P = (1n << 255n) - 19n
/** The group order L = 2^252 + 27742317777372353535851937790883648493. */
export const ED25519_L = (1n << 252n) + 27742317777372353535851937790883648493n

/**
 * The canonical encodings of the eight points of small order (the 8-torsion subgroup). After the canonical-y
 * check, a small-order point can only be one of these.
 */
const SMALL_ORDER = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  '0000000000000000000000000000000000000000000000000000000000000080',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  '0000000000000000000000000000000000000000000000000000000000000000',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
]
const SMALL_ORDER_SET = new Set(SMALL_ORDER)

/** Little-endian bytes → bigint. */
export function leToBigInt(b: Uint8Array): bigint {
  let n = 0n
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!)
  return n
}

/** Little-endian 32-byte encoding of a bigint below 2^256. */
function toLe32(n: bigint): Uint8Array {
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn)
  return out
}

const L_LE = toLe32(ED25519_L)
const P_LE = toLe32(P)
const P_MINUS_1_LE = toLe32(P - 1n)

/**
 * Compare two 32-byte little-endian numbers, the top bit of `a` masked off when `low255` (a point's y):
 * negative, zero or positive as a < b, a = b, a > b.
 */
function compareLe32(a: Uint8Array, b: Uint8Array, low255: boolean): number {
  for (let i = 31; i >= 0; i--) {
    const x = i === 31 && low255 ? a[i]! & 0x7f : a[i]!
    if (x !== b[i]!) return x - b[i]!
  }
  return 0
}

/** y = 1: byte 0 is 1 and every other byte (sign bit aside) is 0. */
function isYOne(enc: Uint8Array): boolean {
  if (enc[0] !== 1 || (enc[31]! & 0x7f) !== 0) return false
  for (let i = 1; i < 31; i++) if (enc[i] !== 0) return false
  return true
}

const HEX_BYTE = Array.from({ length: 256 }, (_, v) => v.toString(16).padStart(2, '0'))

function hex(b: Uint8Array): string {
  let s = ''
  for (let i = 0; i < b.length; i++) s += HEX_BYTE[b[i]!]
  return s
}

/** Why a key or signature fails the strict encoding rules, or null when it passes. */
export type StrictFailure =
  | 'bad_length'
  | 'non_canonical_s'
  | 'non_canonical_a'
  | 'small_order_a'
  | 'non_canonical_r'
  | 'small_order_r'

/**
 * A point encoding is canonical when its y (the low 255 bits) is below p, and a point with x = 0 (y = 1 or
 * y = p − 1) does not set the sign bit. Whether the point lies on the curve is left to the verifier.
 */
export function isCanonicalPointEncoding(enc: Uint8Array): boolean {
  if (enc.length !== 32) return false
  const sign = (enc[31]! & 0x80) !== 0
  if (compareLe32(enc, P_LE, true) >= 0) return false
  if (sign && (isYOne(enc) || compareLe32(enc, P_MINUS_1_LE, true) === 0)) return false
  return true
}

/** True when the (canonical) encoding is one of the eight small-order points. */
export function isSmallOrderEncoding(enc: Uint8Array): boolean {
  return SMALL_ORDER_SET.has(hex(enc))
}

/** The strict encoding checks of a public key and a signature (RFC 8032 §5.1.7 steps 1–2, plus small order). */
export function strictEd25519Failure(publicKey: Uint8Array, signature: Uint8Array): StrictFailure | null {
  if (publicKey.length !== 32 || signature.length !== 64) return 'bad_length'
  if (compareLe32(signature.subarray(32), L_LE, false) >= 0) return 'non_canonical_s'
  if (!isCanonicalPointEncoding(publicKey)) return 'non_canonical_a'
  if (isSmallOrderEncoding(publicKey)) return 'small_order_a'
  const r = signature.subarray(0, 32)
  if (!isCanonicalPointEncoding(r)) return 'non_canonical_r'
  if (isSmallOrderEncoding(r)) return 'small_order_r'
  return null
}

/** True when a public key is acceptable for strict verification (canonical, not of small order). */
export function isStrictEd25519PublicKey(publicKey: Uint8Array): boolean {
  return publicKey.length === 32 && isCanonicalPointEncoding(publicKey) && !isSmallOrderEncoding(publicKey)
}
