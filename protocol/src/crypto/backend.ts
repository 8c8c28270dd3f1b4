/**
 * The crypto backend interface. Every crypto-using function of the protocol takes a backend as its first
 * argument, so the same code runs on node:crypto (fast; the box and the bridge) and on the portable @noble
 * implementation (apps without node:crypto). Tests prove both produce identical bytes.
 */
import type { Bytes } from '../bytes.js'

export interface CryptoBackend {
  readonly name: string
  /** Ed25519 public key (32 bytes) of a 32-byte secret seed. */
  ed25519PublicKey(secret: Bytes): Bytes
  ed25519Sign(secret: Bytes, message: Bytes): Bytes
  /** False (never a throw) for a malformed key or signature. */
  ed25519Verify(publicKey: Bytes, message: Bytes, signature: Bytes): boolean
  x25519PublicKey(secret: Bytes): Bytes
  /** X25519 shared secret; ProtocolError('bad_key') for a low-order public key (all-zero result). */
  x25519(secret: Bytes, publicKey: Bytes): Bytes
  sha256(data: Bytes): Bytes
  hmacSha256(key: Bytes, data: Bytes): Bytes
  /** AES-GCM seal: returns ciphertext || 16-byte tag. Key 16 bytes, nonce 12 bytes. */
  aesGcmSeal(key: Bytes, nonce: Bytes, plaintext: Bytes, aad: Bytes): Bytes
  /** AES-GCM open; ProtocolError('bad_tag') when authentication fails. */
  aesGcmOpen(key: Bytes, nonce: Bytes, sealed: Bytes, aad: Bytes): Bytes
  /** AES-CMAC (RFC 4493), 16-byte tag. */
  aesCmac(key: Bytes, message: Bytes): Bytes
  randomBytes(n: number): Bytes
}
