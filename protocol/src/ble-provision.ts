/**
 * Provisioning over BLE (SPEC.md §12): a technician's laptop hands an unprovisioned box its bundle (config and
 * key files) through a GATT service the box offers only while it has no bundle. Both ends prove knowledge of
 * the box's setup code — 16 Crockford base32 characters (80 bits) printed on its label at image time — and
 * the bundle travels under AES-128-GCM with a key from an X25519 exchange mixed with the code. No PAKE: the
 * code is long enough that one transcript captured by an active attacker cannot be brute-forced offline, a
 * passive listener learns nothing to test guesses against (the proofs are keyed with the X25519 secret), and
 * the box locks after a few wrong proofs.
 *
 * Messages ride the same chunked session transport as payments, on their own service UUIDs.
 */
import { gcm } from '@noble/ciphers/aes.js'
import { x25519 } from '@noble/curves/ed25519.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { randomBytes } from '@noble/hashes/utils.js'
import { type Bytes, concat, equalBytes, utf8 } from './bytes.js'
import { ProtocolError } from './errors.js'

/** GATT UUIDs of the provisioning service: the payment layout (`BLE_UUIDS`) with its own values. */
export const BLE_PROVISION_UUIDS = {
  service: '6f70670a1c5e4b2d9e8a3c1f0b7d5e50',
  state: '6f70670a1c5e4b2d9e8a3c1f0b7d5e51',
  client2Server: '6f70670a1c5e4b2d9e8a3c1f0b7d5e52',
  server2Client: '6f70670a1c5e4b2d9e8a3c1f0b7d5e53',
  ident: '6f70670a1c5e4b2d9e8a3c1f0b7d5e54',
} as const

/** Local name prefix of a box waiting for its bundle: `OPGS <setup id>`. */
export const BLE_PROVISION_NAME_PREFIX = 'OPGS'

/** Message types (first byte). */
export const PROVISION_MSG = {
  hello: 0x01,
  challenge: 0x02,
  proof: 0x03,
  accept: 0x04,
  bundle: 0x05,
  installed: 0x06,
  refused: 0x7f,
} as const

/** Why the box refused (second byte of a refused message). */
export const PROVISION_REFUSAL = {
  wrongCode: 0x01,
  locked: 0x02,
  badBundle: 0x03,
  badMessage: 0x04,
  wait: 0x05,
} as const
export type ProvisionRefusal = keyof typeof PROVISION_REFUSAL

const VERSION = 0x01
const TAG_LEN = 16
const IV_LEN = 12
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
/** Characters of a setup code (5 bits each). */
export const SETUP_CODE_LENGTH = 16
const SETUP_ID = /^[0-9A-Z]{8}$/

/** A new random setup code and setup id, as written at image time and printed on the label. */
export function newSetupCode(): { setupId: string; code: string } {
  const pick = (n: number) => [...randomBytes(n)].map((b) => CROCKFORD[b & 31]).join('')
  return { setupId: pick(8), code: formatSetupCode(pick(SETUP_CODE_LENGTH)) }
}

/** The code as printed: four groups of four (`7KQ2-M9XA-…`). */
export function formatSetupCode(code: string): string {
  return normalizeSetupCode(code).match(/.{4}/g)!.join('-')
}

/**
 * The code as typed by a person, made canonical: case and separators ignored, and the letters Crockford
 * base32 leaves out read as the digits they look like (O→0, I/L→1). Throws `bad_encoding` otherwise.
 */
export function normalizeSetupCode(typed: string): string {
  const s = typed.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1')
  if (s.length !== SETUP_CODE_LENGTH || [...s].some((c) => !CROCKFORD.includes(c)))
    throw new ProtocolError('bad_encoding', `a setup code is ${SETUP_CODE_LENGTH} base32 characters`)
  return s
}

/** Check a setup id (8 of [0-9A-Z]); it names the box in `OPGS <setup id>` and salts its code key. */
export function checkSetupId(setupId: string): string {
  if (!SETUP_ID.test(setupId)) throw new ProtocolError('bad_encoding', 'a setup id is 8 of [0-9A-Z]')
  return setupId
}

/** One side's ephemeral X25519 key pair for one attempt. */
export interface ProvisionEphemeral {
  secret: Bytes
  publicKey: Bytes
}

export function provisionEphemeral(): ProvisionEphemeral {
  const secret = x25519.utils.randomSecretKey()
  return { secret, publicKey: x25519.getPublicKey(secret) }
}

/** Keys of one attempt, the same on both sides only if both used the same code. */
export interface ProvisionKeys {
  techProof: Bytes
  boxProof: Bytes
  bundleKey: Bytes
  /** Additional data for the bundle's AEAD: binds it to this attempt's transcript. */
  aad: Bytes
}

/**
 * Keys from the code, the setup id and both ephemeral keys. The X25519 secret goes into every key, so a
 * passive listener cannot test code guesses; the code goes into every key, so a man in the middle without
 * the code cannot make a proof or read the bundle.
 */
export function provisionKeys(
  code: string,
  setupId: string,
  own: ProvisionEphemeral,
  peerPublic: Bytes,
  techPublic: Bytes,
  boxPublic: Bytes,
): ProvisionKeys {
  let shared: Bytes
  try {
    shared = x25519.getSharedSecret(own.secret, peerPublic)
  } catch (cause) {
    throw new ProtocolError('bad_encoding', 'bad X25519 public key', { cause })
  }
  const transcript = concat(utf8(checkSetupId(setupId)), techPublic, boxPublic)
  const codeKey = hkdf(
    sha256,
    utf8(normalizeSetupCode(code)),
    utf8('opg/v1 ble setup code'),
    utf8(setupId),
    32,
  )
  const prk = hkdf(sha256, concat(shared, codeKey), sha256(transcript), utf8('opg/v1 ble setup'), 80)
  const mac = prk.subarray(0, 32)
  return {
    techProof: hmac(sha256, mac, utf8('technician')).subarray(0, TAG_LEN),
    boxProof: hmac(sha256, mac, utf8('box')).subarray(0, TAG_LEN),
    bundleKey: prk.slice(32, 48),
    aad: concat(Uint8Array.of(PROVISION_MSG.bundle), sha256(transcript)),
  }
}

/** A message of the provisioning exchange. */
export type ProvisionMessage =
  | { type: 'hello'; publicKey: Bytes }
  | { type: 'challenge'; publicKey: Bytes; attemptsLeft: number }
  | { type: 'proof'; tag: Bytes }
  | { type: 'accept'; tag: Bytes }
  | { type: 'bundle'; sealed: Bytes }
  | { type: 'installed' }
  | { type: 'refused'; reason: ProvisionRefusal; attemptsLeft: number }

export function encodeProvisionMessage(m: ProvisionMessage): Bytes {
  const t = PROVISION_MSG
  switch (m.type) {
    case 'hello':
      return concat(Uint8Array.of(t.hello, VERSION), m.publicKey)
    case 'challenge':
      return concat(Uint8Array.of(t.challenge), m.publicKey, Uint8Array.of(m.attemptsLeft))
    case 'proof':
      return concat(Uint8Array.of(t.proof), m.tag)
    case 'accept':
      return concat(Uint8Array.of(t.accept), m.tag)
    case 'bundle':
      return concat(Uint8Array.of(t.bundle), m.sealed)
    case 'installed':
      return Uint8Array.of(t.installed)
    case 'refused':
      return Uint8Array.of(t.refused, PROVISION_REFUSAL[m.reason], m.attemptsLeft)
  }
}

/** Decode a message; `bad_encoding` for anything malformed (wrong length, unknown type or version). */
export function decodeProvisionMessage(b: Bytes): ProvisionMessage {
  const bad = (why: string) => new ProtocolError('bad_encoding', `provisioning message: ${why}`)
  const body = b.subarray(1)
  switch (b[0]) {
    case PROVISION_MSG.hello:
      if (body.length !== 33) throw bad('hello is 34 bytes')
      if (body[0] !== VERSION) throw bad(`unsupported version ${body[0]}`)
      return { type: 'hello', publicKey: body.slice(1) }
    case PROVISION_MSG.challenge:
      if (body.length !== 33) throw bad('challenge is 34 bytes')
      return { type: 'challenge', publicKey: body.slice(0, 32), attemptsLeft: body[32]! }
    case PROVISION_MSG.proof:
    case PROVISION_MSG.accept:
      if (body.length !== TAG_LEN) throw bad('proof is 17 bytes')
      return { type: b[0] === PROVISION_MSG.proof ? 'proof' : 'accept', tag: body.slice() }
    case PROVISION_MSG.bundle:
      if (body.length < IV_LEN + 16) throw bad('bundle too short')
      return { type: 'bundle', sealed: body.slice() }
    case PROVISION_MSG.installed:
      if (body.length !== 0) throw bad('installed carries nothing')
      return { type: 'installed' }
    case PROVISION_MSG.refused: {
      const reason = Object.entries(PROVISION_REFUSAL).find(([, v]) => v === body[0])?.[0]
      if (body.length !== 2 || !reason) throw bad('unknown refusal')
      return { type: 'refused', reason: reason as ProvisionRefusal, attemptsLeft: body[1]! }
    }
    default:
      throw bad(`unknown type ${b[0]}`)
  }
}

/** Constant-time check of a received proof. */
export function proofMatches(expected: Bytes, got: Bytes): boolean {
  return got.length === expected.length && equalBytes(expected, got)
}

/** Seal the bundle (random 96-bit IV; one bundle per attempt's key). */
export function sealProvisionBundle(keys: ProvisionKeys, plaintext: Bytes): Bytes {
  const iv = randomBytes(IV_LEN)
  return concat(iv, gcm(keys.bundleKey, iv, keys.aad).encrypt(plaintext))
}

/** Open a sealed bundle; `bad_encoding` when it fails authentication. */
export function openProvisionBundle(keys: ProvisionKeys, sealed: Bytes): Bytes {
  try {
    return gcm(keys.bundleKey, sealed.subarray(0, IV_LEN), keys.aad).decrypt(sealed.subarray(IV_LEN))
  } catch (cause) {
    throw new ProtocolError('bad_encoding', 'bundle failed authentication', { cause })
  }
}
