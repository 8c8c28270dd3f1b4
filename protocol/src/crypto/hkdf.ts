/** HKDF-SHA256 (RFC 5869) over a backend's HMAC, so both backends share one implementation. */
import { concat } from '../bytes.js'
import type { CryptoBackend } from './backend.js'

export function hkdfExtract(c: CryptoBackend, salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  return c.hmacSha256(salt.length ? salt : new Uint8Array(32), ikm)
}

export function hkdfExpand(c: CryptoBackend, prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (length > 255 * 32) throw new RangeError('HKDF output too long')
  const out = new Uint8Array(length)
  let t: Uint8Array = new Uint8Array(0)
  for (let i = 1, o = 0; o < length; i++) {
    t = c.hmacSha256(prk, concat(t, info, Uint8Array.of(i)))
    out.set(t.subarray(0, Math.min(32, length - o)), o)
    o += 32
  }
  return out
}

export function hkdf(c: CryptoBackend, ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number) {
  return hkdfExpand(c, hkdfExtract(c, salt, ikm), info, length)
}
