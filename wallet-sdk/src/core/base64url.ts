/**
 * base64url without padding (RFC 4648 §5), the bridge API's byte encoding — written out because the core
 * may not use Buffer and `btoa` is not in every React Native engine.
 */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const INDEX = new Map([...ALPHABET].map((ch, i) => [ch, i]))

export function toB64u(b: Uint8Array): string {
  let s = ''
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i]! << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0)
    const chars = i + 2 < b.length ? 4 : i + 1 < b.length ? 3 : 2
    for (let j = 0; j < chars; j++) s += ALPHABET[(n >> (18 - 6 * j)) & 63]
  }
  return s
}

/** Decode base64url (padding tolerated); throws TypeError on characters outside the alphabet. */
export function fromB64u(s: string): Uint8Array {
  const clean = s.replace(/=+$/, '')
  if (clean.length % 4 === 1) throw new TypeError('invalid base64url length')
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4))
  let o = 0
  for (let i = 0; i < clean.length; i += 4) {
    let n = 0
    const chunk = clean.slice(i, i + 4)
    for (let j = 0; j < 4; j++) {
      const ch = chunk[j]
      const v = ch === undefined ? 0 : INDEX.get(ch)
      if (v === undefined) throw new TypeError('invalid base64url character')
      n = (n << 6) | v
    }
    for (let j = 0; j < chunk.length - 1; j++) out[o++] = (n >> (16 - 8 * j)) & 255
  }
  return out
}
