/**
 * Domain-separated Ed25519: every signed structure is signed as `"opg/v1 <domain>" || 0x00 || body`, so a
 * signature made for one structure can never be replayed as another.
 */
import { type Bytes, concat, utf8 } from './bytes.js'
import type { CryptoBackend } from './crypto/backend.js'

export type SignDomain = 'wallet-cert' | 'node-cert' | 'token' | 'receipt' | 'ble-transcript'

const prefixes = new Map<SignDomain, Bytes>()
function prefix(domain: SignDomain): Bytes {
  let p = prefixes.get(domain)
  if (!p) {
    p = concat(utf8(`opg/v1 ${domain}`), Uint8Array.of(0))
    prefixes.set(domain, p)
  }
  return p
}

export function signDomain(c: CryptoBackend, secret: Bytes, domain: SignDomain, body: Bytes): Bytes {
  return c.ed25519Sign(secret, concat(prefix(domain), body))
}

export function verifyDomain(
  c: CryptoBackend,
  publicKey: Bytes,
  domain: SignDomain,
  body: Bytes,
  signature: Bytes,
): boolean {
  return c.ed25519Verify(publicKey, concat(prefix(domain), body), signature)
}
