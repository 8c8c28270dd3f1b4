/**
 * Base45 (RFC 9285): binary → the QR alphanumeric alphabet, so a QR code can use alphanumeric mode
 * (5.5 bits/char) and survive text-oriented scanners. Strict decoder: every malformed input is a ProtocolError.
 */
import { ProtocolError } from './errors.js'

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:'
const INDEX = new Int8Array(128).fill(-1)
for (let i = 0; i < ALPHABET.length; i++) INDEX[ALPHABET.charCodeAt(i)] = i

export function base45Encode(b: Uint8Array): string {
  let s = ''
  for (let i = 0; i + 1 < b.length; i += 2) {
    let n = b[i]! * 256 + b[i + 1]!
    const c0 = n % 45
    n = (n - c0) / 45
    const c1 = n % 45
    const c2 = (n - c1) / 45
    s += ALPHABET[c0]! + ALPHABET[c1]! + ALPHABET[c2]!
  }
  if (b.length % 2 === 1) {
    const n = b[b.length - 1]!
    s += ALPHABET[n % 45]! + ALPHABET[Math.floor(n / 45)]!
  }
  return s
}

export function base45Decode(s: string): Uint8Array {
  if (s.length % 3 === 1) throw new ProtocolError('bad_encoding', 'base45 length must not be 1 mod 3')
  const out = new Uint8Array(Math.floor(s.length / 3) * 2 + (s.length % 3 === 2 ? 1 : 0))
  const val = (i: number): number => {
    const code = s.charCodeAt(i)
    const v = code < 128 ? INDEX[code]! : -1
    if (v < 0) throw new ProtocolError('bad_encoding', `invalid base45 character at ${i}`)
    return v
  }
  let o = 0
  for (let i = 0; i < s.length; i += 3) {
    if (i + 2 < s.length) {
      const n = val(i) + val(i + 1) * 45 + val(i + 2) * 2025
      if (n > 0xffff) throw new ProtocolError('bad_encoding', 'base45 triple out of range')
      out[o++] = n >> 8
      out[o++] = n & 0xff
    } else {
      const n = val(i) + val(i + 1) * 45
      if (n > 0xff) throw new ProtocolError('bad_encoding', 'base45 pair out of range')
      out[o++] = n
    }
  }
  return out
}
