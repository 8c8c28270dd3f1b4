/**
 * Key pairs and short key ids. A key id is the first 4 bytes of SHA-256(public key), shown as 8 hex chars;
 * certificates and envelopes name keys by id so keys can rotate (old ids keep verifying until retired).
 */
import { type Bytes, toHex } from './bytes.js'
import type { CryptoBackend } from './crypto/backend.js'

export interface KeyPair {
  secretKey: Bytes
  publicKey: Bytes
}

/** Issuer public keys by key id (8 hex chars). Nodes and wallets carry their tenant's keyring. */
export type IssuerKeyring = ReadonlyMap<string, Bytes>

export function generateSigningKeyPair(c: CryptoBackend): KeyPair {
  const secretKey = c.randomBytes(32)
  return { secretKey, publicKey: c.ed25519PublicKey(secretKey) }
}

export function generateEncryptionKeyPair(c: CryptoBackend): KeyPair {
  const secretKey = c.randomBytes(32)
  return { secretKey, publicKey: c.x25519PublicKey(secretKey) }
}

/** The 4-byte key id of a public key. */
export function keyIdBytes(c: CryptoBackend, publicKey: Bytes): Bytes {
  return c.sha256(publicKey).slice(0, 4)
}

/** The key id of a public key as 8 lowercase hex characters. */
export function keyId(c: CryptoBackend, publicKey: Bytes): string {
  return toHex(keyIdBytes(c, publicKey))
}

/** A keyring from a list of issuer public keys. */
export function makeKeyring(c: CryptoBackend, publicKeys: Bytes[]): IssuerKeyring {
  return new Map(publicKeys.map((k) => [keyId(c, k), k]))
}
