/**
 * The wallet's signing key behind an interface, so an app can keep it in hardware (Android Keystore /
 * StrongBox, iOS Secure Enclave via a native module) and the core never sees the secret. The software
 * signer is the default: a 32-byte Ed25519 seed kept in the app's secure storage.
 */
import type { CryptoBackend } from '@opg/protocol'

/** Signs with the wallet's Ed25519 key. `publicKey` is the 32-byte Ed25519 public key. */
export interface Signer {
  readonly publicKey: Uint8Array
  /** A 64-byte Ed25519 signature of `message` (RFC 8032, pure Ed25519, no prehash). */
  sign(message: Uint8Array): Promise<Uint8Array>
}

/** A Signer over a raw 32-byte Ed25519 seed, using the given crypto backend. */
export function softwareSigner(c: CryptoBackend, seed: Uint8Array): Signer {
  if (seed.length !== 32) throw new RangeError('an Ed25519 seed is 32 bytes')
  const secret = seed.slice()
  const publicKey = c.ed25519PublicKey(secret)
  return {
    publicKey,
    async sign(message) {
      return c.ed25519Sign(secret, message)
    },
  }
}
