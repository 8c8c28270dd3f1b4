/**
 * RFC 9180 HPKE, base mode, single suite: DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-128-GCM
 * (kem 0x0020, kdf 0x0001, aead 0x0001). Verified against RFC 9180 Appendix A.1 in the tests.
 */
import { type Bytes, concat, utf8 } from './bytes.js'
import type { CryptoBackend } from './crypto/backend.js'
import { hkdfExpand, hkdfExtract } from './crypto/hkdf.js'
import { ProtocolError } from './errors.js'

const KEM_SUITE = concat(utf8('KEM'), Uint8Array.of(0x00, 0x20))
const HPKE_SUITE = concat(utf8('HPKE'), Uint8Array.of(0x00, 0x20, 0x00, 0x01, 0x00, 0x01))
const V1 = utf8('HPKE-v1')
const EMPTY = new Uint8Array(0)

function labeledExtract(c: CryptoBackend, suite: Bytes, salt: Bytes, label: string, ikm: Bytes): Bytes {
  return hkdfExtract(c, salt, concat(V1, suite, utf8(label), ikm))
}

function labeledExpand(c: CryptoBackend, suite: Bytes, prk: Bytes, label: string, info: Bytes, len: number) {
  const l = Uint8Array.of(len >> 8, len & 0xff)
  return hkdfExpand(c, prk, concat(l, V1, suite, utf8(label), info), len)
}

/** DeriveKeyPair (RFC 9180 §7.1.3) for X25519: deterministic key pair from input keying material. */
export function hpkeDeriveKeyPair(c: CryptoBackend, ikm: Bytes): { secretKey: Bytes; publicKey: Bytes } {
  const prk = labeledExtract(c, KEM_SUITE, EMPTY, 'dkp_prk', ikm)
  const secretKey = labeledExpand(c, KEM_SUITE, prk, 'sk', EMPTY, 32)
  return { secretKey, publicKey: c.x25519PublicKey(secretKey) }
}

function extractAndExpand(c: CryptoBackend, dh: Bytes, kemContext: Bytes): Bytes {
  const prk = labeledExtract(c, KEM_SUITE, EMPTY, 'eae_prk', dh)
  return labeledExpand(c, KEM_SUITE, prk, 'shared_secret', kemContext, 32)
}

export interface HpkeContext {
  key: Bytes
  baseNonce: Bytes
  exporterSecret: Bytes
}

/** KeySchedule for mode_base (no PSK). */
export function hpkeKeySchedule(c: CryptoBackend, sharedSecret: Bytes, info: Bytes): HpkeContext {
  const pskIdHash = labeledExtract(c, HPKE_SUITE, EMPTY, 'psk_id_hash', EMPTY)
  const infoHash = labeledExtract(c, HPKE_SUITE, EMPTY, 'info_hash', info)
  const ctx = concat(Uint8Array.of(0x00), pskIdHash, infoHash)
  const secret = labeledExtract(c, HPKE_SUITE, sharedSecret, 'secret', EMPTY)
  return {
    key: labeledExpand(c, HPKE_SUITE, secret, 'key', ctx, 16),
    baseNonce: labeledExpand(c, HPKE_SUITE, secret, 'base_nonce', ctx, 12),
    exporterSecret: labeledExpand(c, HPKE_SUITE, secret, 'exp', ctx, 32),
  }
}

/** Nonce for message `seq` of a context: base_nonce XOR I2OSP(seq, 12). */
export function hpkeNonce(baseNonce: Bytes, seq: number): Bytes {
  const n = baseNonce.slice()
  let s = seq
  for (let i = 11; i >= 0 && s > 0; i--) {
    n[i]! ^= s & 0xff
    s = Math.floor(s / 256)
  }
  return n
}

/** SetupBaseS: encapsulate to `recipientPublicKey`. `ephemeralSecret` is for test vectors only. */
export function hpkeSetupSender(
  c: CryptoBackend,
  recipientPublicKey: Bytes,
  info: Bytes,
  ephemeralSecret?: Bytes,
): { enc: Bytes; sharedSecret: Bytes; ctx: HpkeContext } {
  const skE = ephemeralSecret ?? c.randomBytes(32)
  const enc = c.x25519PublicKey(skE)
  const dh = c.x25519(skE, recipientPublicKey)
  const sharedSecret = extractAndExpand(c, dh, concat(enc, recipientPublicKey))
  return { enc, sharedSecret, ctx: hpkeKeySchedule(c, sharedSecret, info) }
}

/** SetupBaseR: decapsulate `enc` with the recipient's key pair. */
export function hpkeSetupRecipient(
  c: CryptoBackend,
  enc: Bytes,
  recipientSecretKey: Bytes,
  recipientPublicKey: Bytes,
  info: Bytes,
): HpkeContext {
  if (enc.length !== 32) throw new ProtocolError('bad_length', 'HPKE enc must be 32 bytes')
  const dh = c.x25519(recipientSecretKey, enc)
  const sharedSecret = extractAndExpand(c, dh, concat(enc, recipientPublicKey))
  return hpkeKeySchedule(c, sharedSecret, info)
}

/** Single-shot seal (sequence 0): returns { enc, ct } with ct = ciphertext || tag. */
export function hpkeSeal(
  c: CryptoBackend,
  recipientPublicKey: Bytes,
  info: Bytes,
  aad: Bytes,
  plaintext: Bytes,
  ephemeralSecret?: Bytes,
): { enc: Bytes; ct: Bytes } {
  const { enc, ctx } = hpkeSetupSender(c, recipientPublicKey, info, ephemeralSecret)
  return { enc, ct: c.aesGcmSeal(ctx.key, ctx.baseNonce, plaintext, aad) }
}

/** Single-shot open (sequence 0). Fails with ProtocolError('bad_tag') or ('bad_key'). */
export function hpkeOpen(
  c: CryptoBackend,
  enc: Bytes,
  recipientSecretKey: Bytes,
  recipientPublicKey: Bytes,
  info: Bytes,
  aad: Bytes,
  ct: Bytes,
): Bytes {
  const ctx = hpkeSetupRecipient(c, enc, recipientSecretKey, recipientPublicKey, info)
  return c.aesGcmOpen(ctx.key, ctx.baseNonce, ct, aad)
}
