/**
 * Portable crypto backend on the audited @noble libraries: no node: imports, so the wallet SDK's core runs in
 * React Native or a browser-like runtime.
 */
import { cmac, gcm } from '@noble/ciphers/aes.js'
import { ed25519, x25519 } from '@noble/curves/ed25519.js'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256, sha512 } from '@noble/hashes/sha2.js'
import { randomBytes } from '@noble/hashes/utils.js'
import { ProtocolError } from '../errors.js'
import type { CryptoBackend } from './backend.js'
import { ED25519_L, leToBigInt, strictEd25519Failure } from './ed25519-strict.js'

const Point = ed25519.Point

/**
 * Strict RFC 8032 verification with the cofactorless equation [S]B = R + [k]A, the one node:crypto (OpenSSL)
 * checks: noble's own verify uses the cofactored equation, which also accepts an R with a small-order component,
 * so the two backends would disagree on signatures a wallet crafted on purpose. Encodings are checked first.
 */
function verifyStrict(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (strictEd25519Failure(publicKey, signature) !== null) return false
  const rBytes = signature.subarray(0, 32)
  const a = Point.fromBytes(publicKey, false)
  const r = Point.fromBytes(rBytes, false)
  const s = leToBigInt(signature.subarray(32))
  const h = new Uint8Array(64 + message.length)
  h.set(rBytes, 0)
  h.set(publicKey, 32)
  h.set(message, 64)
  const k = leToBigInt(sha512(h)) % ED25519_L
  return Point.BASE.multiplyUnsafe(s).equals(r.add(a.multiplyUnsafe(k)))
}

export const nobleBackend: CryptoBackend = {
  name: 'noble',
  ed25519PublicKey: (secret) => ed25519.getPublicKey(secret),
  ed25519Sign: (secret, message) => ed25519.sign(message, secret),
  ed25519Verify(publicKey, message, signature) {
    if (publicKey.length !== 32 || signature.length !== 64) return false
    try {
      return verifyStrict(publicKey, message, signature)
    } catch {
      return false
    }
  },
  x25519PublicKey: (secret) => x25519.getPublicKey(secret),
  x25519(secret, publicKey) {
    try {
      return x25519.getSharedSecret(secret, publicKey)
    } catch (cause) {
      throw new ProtocolError('bad_key', 'X25519 key agreement failed', { cause })
    }
  },
  sha256: (data) => sha256(data),
  hmacSha256: (key, data) => hmac(sha256, key, data),
  aesGcmSeal: (key, nonce, plaintext, aad) => gcm(key, nonce, aad).encrypt(plaintext),
  aesGcmOpen(key, nonce, sealed, aad) {
    if (sealed.length < 16) throw new ProtocolError('truncated', 'sealed data shorter than its tag')
    try {
      return gcm(key, nonce, aad).decrypt(sealed)
    } catch (cause) {
      throw new ProtocolError('bad_tag', 'authentication failed', { cause })
    }
  },
  aesCmac: (key, message) => cmac(message, key),
  randomBytes: (n) => randomBytes(n),
}
