/**
 * The bridge's crypto backend: protocol's node:crypto backend, with Ed25519 verification and SHA-256 on
 * libsodium (sodium-native). Verifying the wallet's signature is the one cost every ingested payment pays, and
 * libsodium's verify takes about half of OpenSSL's CPU here (docs/BENCHMARKS.md). The box and the wallets keep node:crypto
 * or @noble: a box verifies one payment at a time and must not carry a native addon it does not need.
 *
 * Same answers as every other backend: the strict encoding rules (SPEC.md §2.1) run first, as in protocol's
 * backends, and what is left (canonical S and points, no small-order A or R) is the cofactorless equation both
 * OpenSSL and libsodium check. test/verify/sodium-backend.test.ts holds it to the strict test vectors and to
 * node:crypto on random and mauled signatures.
 */
import { type CryptoBackend, strictEd25519Failure } from '@opg/protocol'
import { createNodeBackend } from '@opg/protocol/node'
import sodium from 'sodium-native'

const buf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength)

/** A backend of its own (its own key-object caches): one per verification thread. */
export function createBridgeBackend(): CryptoBackend {
  const base = createNodeBackend()
  return {
    ...base,
    name: 'node+sodium',
    ed25519Verify(publicKey, message, signature) {
      if (strictEd25519Failure(publicKey, signature) !== null) return false
      return sodium.crypto_sign_verify_detached(buf(signature), buf(message), buf(publicKey))
    },
    // Each verified token takes three hashes (its body, its chain link, the certificate's key); one call into
    // libsodium costs less than node:crypto's Hash object for inputs this short.
    sha256(data) {
      const digest = Buffer.allocUnsafe(32)
      sodium.crypto_hash_sha256(digest, buf(data))
      return new Uint8Array(digest.buffer, digest.byteOffset, 32)
    },
  }
}

/** The bridge's shared backend (the main thread's). */
export const bridgeBackend: CryptoBackend = createBridgeBackend()
