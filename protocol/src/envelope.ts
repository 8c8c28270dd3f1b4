/**
 * The token envelope (SPEC.md §5): a payment token encrypted to the box's X25519 key with HPKE base mode.
 *   envelope = version(1) || key id of the box's X25519 key(4) || enc(32) || AES-128-GCM(token) || tag(16)
 * The 5-byte header is the authenticated prefix (HPKE aad); the GCM tag is the suffix.
 * QR form: "OPG1:" + Base45(envelope).
 */
import { base45Decode, base45Encode } from './base45.js'
import { type Bytes, concat, equalBytes, Reader, utf8 } from './bytes.js'
import type { CryptoBackend } from './crypto/backend.js'
import { check, ProtocolError } from './errors.js'
import { hpkeOpen, hpkeSeal } from './hpke.js'
import { keyIdBytes } from './keys.js'
import { TOKEN_LEN_CHALLENGE } from './token.js'

export const ENVELOPE_VERSION = 0x01
export const ENVELOPE_OVERHEAD = 1 + 4 + 32 + 16
export const ENVELOPE_MAX = TOKEN_LEN_CHALLENGE + ENVELOPE_OVERHEAD
export const QR_PREFIX = 'OPG1:'
/** Longest QR text accepted before any decoding work. */
export const QR_TEXT_MAX = QR_PREFIX.length + Math.ceil(ENVELOPE_MAX / 2) * 3
const INFO = utf8('opg/v1 token envelope')

/** Encrypt signed token bytes to the box's X25519 public key. */
export function sealEnvelope(
  c: CryptoBackend,
  nodeEncryptionKey: Bytes,
  token: Bytes,
  ephemeralSecret?: Bytes,
): Bytes {
  const header = concat(Uint8Array.of(ENVELOPE_VERSION), keyIdBytes(c, nodeEncryptionKey))
  const { enc, ct } = hpkeSeal(c, nodeEncryptionKey, INFO, header, token, ephemeralSecret)
  return concat(header, enc, ct)
}

/** Decrypt an envelope with the box's X25519 key pair; returns the signed token bytes. */
export function openEnvelope(
  c: CryptoBackend,
  node: { secretKey: Bytes; publicKey: Bytes },
  env: Bytes,
): Bytes {
  if (env.length > ENVELOPE_MAX) throw new ProtocolError('oversized', 'envelope too long')
  const r = new Reader(env, 'envelope')
  check(r.u8() === ENVELOPE_VERSION, 'bad_version', 'unknown envelope version')
  const kid = r.bytes(4)
  if (!equalBytes(kid, keyIdBytes(c, node.publicKey))) {
    throw new ProtocolError('unknown_key', 'envelope is for another box key')
  }
  const enc = r.bytes(32)
  check(r.remaining() >= 16, 'truncated', 'envelope: truncated')
  const ct = r.bytes(r.remaining())
  return hpkeOpen(c, enc, node.secretKey, node.publicKey, INFO, env.subarray(0, 5), ct)
}

/** "OPG1:" + Base45. */
export function encodeQrText(envelope: Bytes): string {
  return QR_PREFIX + base45Encode(envelope)
}

/** Parse QR text to envelope bytes; refuses oversized text before decoding. */
export function decodeQrText(text: string): Bytes {
  if (typeof text !== 'string') throw new ProtocolError('bad_encoding', 'QR payload must be text')
  if (text.length > QR_TEXT_MAX) throw new ProtocolError('oversized', 'QR text too long')
  if (!text.startsWith(QR_PREFIX))
    throw new ProtocolError('bad_prefix', `QR text must start with ${QR_PREFIX}`)
  return base45Decode(text.slice(QR_PREFIX.length))
}
