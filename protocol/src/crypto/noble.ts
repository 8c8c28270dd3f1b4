/**
 * Portable crypto backend on the audited @noble libraries: no node: imports, so the wallet SDK's core runs in
 * React Native or a browser-like runtime.
 */
import { cmac, gcm } from '@noble/ciphers/aes.js'
import { ed25519, x25519 } from '@noble/curves/ed25519.js'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { randomBytes } from '@noble/hashes/utils.js'
import { ProtocolError } from '../errors.js'
import type { CryptoBackend } from './backend.js'

export const nobleBackend: CryptoBackend = {
  name: 'noble',
  ed25519PublicKey: (secret) => ed25519.getPublicKey(secret),
  ed25519Sign: (secret, message) => ed25519.sign(message, secret),
  ed25519Verify(publicKey, message, signature) {
    if (publicKey.length !== 32 || signature.length !== 64) return false
    try {
      return ed25519.verify(signature, message, publicKey)
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
