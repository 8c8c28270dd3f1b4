/**
 * The BLE payment session (SPEC.md §10), in the ISO/IEC 18013-5 style, as pure functions and a small cipher:
 *   wallet → box  WalletHello  0x01 || wallet ephemeral X25519 key(32)            (written with State 0x01)
 *   box → wallet  BoxHello     0x02 || box ephemeral key(32) || challenge(8) || node certificate(165) || sig(64)
 *                 sig = node Ed25519 over "opg/v1 ble-transcript" 0 || walletEph || boxEph || challenge || cert
 *   then both:    Sealed       0x03 || AES-128-GCM(inner) || tag(16)
 *                 inner = 0x10 token | 0x11 receipt | 0x12 rejection (code, ASCII)
 * Session keys: HKDF-SHA256(ikm = X25519(eph, eph), salt = SHA-256(transcript), info = "opg/v1 ble wallet|box").
 * Nonces: 7 zero bytes || role (0 wallet, 1 box) || u32 message counter from 1 — never reused in a session.
 * Two round trips after connect; a fake box without the node key cannot produce the transcript signature.
 */
import { type Bytes, concat, fromUtf8, Reader, utf8 } from './bytes.js'
import {
  decodeNodeCertificate,
  NODE_CERT_LEN,
  type NodeCertificate,
  verifyNodeCertificate,
} from './certificates.js'
import type { CryptoBackend } from './crypto/backend.js'
import { hkdf } from './crypto/hkdf.js'
import { check, ERROR_CODES, type ErrorCode, ProtocolError } from './errors.js'
import type { IssuerKeyring } from './keys.js'
import { signDomain, verifyDomain } from './sign.js'
import { CHALLENGE_LEN } from './token.js'

export const BLE_MSG_WALLET_HELLO = 0x01
export const BLE_MSG_BOX_HELLO = 0x02
export const BLE_MSG_SEALED = 0x03
export const BLE_INNER_TOKEN = 0x10
export const BLE_INNER_RECEIPT = 0x11
export const BLE_INNER_REJECT = 0x12
/** Largest BLE session message accepted (the reassembler's limit). */
export const BLE_MESSAGE_MAX = 1024

export type Role = 'wallet' | 'box'

/** AES-128-GCM for one direction pair of a session, with role + counter nonces. */
export class BleCipher {
  private sendCounter = 0
  private recvCounter = 0
  constructor(
    private readonly c: CryptoBackend,
    private readonly role: Role,
    private readonly sendKey: Bytes,
    private readonly recvKey: Bytes,
  ) {}

  private nonce(role: Role, n: number): Bytes {
    const b = new Uint8Array(12)
    b[7] = role === 'wallet' ? 0 : 1
    new DataView(b.buffer).setUint32(8, n)
    return b
  }

  seal(inner: Bytes): Bytes {
    const ct = this.c.aesGcmSeal(
      this.sendKey,
      this.nonce(this.role, ++this.sendCounter),
      inner,
      Uint8Array.of(BLE_MSG_SEALED),
    )
    return concat(Uint8Array.of(BLE_MSG_SEALED), ct)
  }

  open(msg: Bytes): Bytes {
    if (msg.length > BLE_MESSAGE_MAX) throw new ProtocolError('oversized', 'BLE message too long')
    check(msg.length >= 17, 'truncated', 'sealed BLE message truncated')
    check(msg[0] === BLE_MSG_SEALED, 'bad_type', 'expected a sealed BLE message')
    const peer: Role = this.role === 'wallet' ? 'box' : 'wallet'
    const inner = this.c.aesGcmOpen(
      this.recvKey,
      this.nonce(peer, this.recvCounter + 1),
      msg.subarray(1),
      msg.subarray(0, 1),
    )
    this.recvCounter++
    return inner
  }
}

function sessionKeys(c: CryptoBackend, shared: Bytes, transcript: Bytes) {
  const salt = c.sha256(transcript)
  return {
    wallet: hkdf(c, shared, salt, utf8('opg/v1 ble wallet'), 16),
    box: hkdf(c, shared, salt, utf8('opg/v1 ble box'), 16),
  }
}

export interface WalletHandshake {
  ephemeralSecret: Bytes
  ephemeralPublic: Bytes
  message: Bytes
}

/** Wallet step 1: a fresh ephemeral key and the WalletHello message. */
export function walletHello(c: CryptoBackend, ephemeralSecret: Bytes = c.randomBytes(32)): WalletHandshake {
  const ephemeralPublic = c.x25519PublicKey(ephemeralSecret)
  return {
    ephemeralSecret,
    ephemeralPublic,
    message: concat(Uint8Array.of(BLE_MSG_WALLET_HELLO), ephemeralPublic),
  }
}

/** Box step: answer a WalletHello. Returns the BoxHello, the box's cipher and the session challenge. */
export function boxRespond(
  c: CryptoBackend,
  node: { signingSecret: Bytes; cert: NodeCertificate },
  hello: Bytes,
  ephemeralSecret: Bytes = c.randomBytes(32),
  challenge: Bytes = c.randomBytes(CHALLENGE_LEN),
): { message: Bytes; cipher: BleCipher; challenge: Bytes } {
  if (hello.length > BLE_MESSAGE_MAX) throw new ProtocolError('oversized', 'BLE message too long')
  const r = new Reader(hello, 'wallet hello')
  check(r.u8() === BLE_MSG_WALLET_HELLO, 'bad_type', 'expected WalletHello')
  const walletEph = r.bytes(32)
  r.end()
  const boxEph = c.x25519PublicKey(ephemeralSecret)
  const transcript = concat(walletEph, boxEph, challenge, node.cert.bytes)
  const sig = signDomain(c, node.signingSecret, 'ble-transcript', transcript)
  const keys = sessionKeys(c, c.x25519(ephemeralSecret, walletEph), transcript)
  return {
    message: concat(Uint8Array.of(BLE_MSG_BOX_HELLO), boxEph, challenge, node.cert.bytes, sig),
    cipher: new BleCipher(c, 'box', keys.box, keys.wallet),
    challenge,
  }
}

/**
 * Wallet step 2: check the BoxHello — node certificate from a known issuer, for the expected device, and a
 * transcript signature by that certificate's key — then derive the session.
 */
export function walletFinish(
  c: CryptoBackend,
  hs: WalletHandshake,
  boxHello: Bytes,
  expect: { issuerKeys: IssuerKeyring; deviceId?: string; nowS?: number },
): { cipher: BleCipher; challenge: Bytes; nodeCert: NodeCertificate } {
  if (boxHello.length > BLE_MESSAGE_MAX) throw new ProtocolError('oversized', 'BLE message too long')
  const r = new Reader(boxHello, 'box hello')
  check(r.u8() === BLE_MSG_BOX_HELLO, 'bad_type', 'expected BoxHello')
  const boxEph = r.bytes(32)
  const challenge = r.bytes(CHALLENGE_LEN)
  const nodeCert = decodeNodeCertificate(r.bytes(NODE_CERT_LEN))
  const sig = r.bytes(64)
  r.end()
  verifyNodeCertificate(c, nodeCert, expect.issuerKeys, expect.nowS)
  if (expect.deviceId !== undefined && nodeCert.deviceId !== expect.deviceId) {
    throw new ProtocolError('wrong_device', 'this box is not the one on the sticker')
  }
  const transcript = concat(hs.ephemeralPublic, boxEph, challenge, nodeCert.bytes)
  if (!verifyDomain(c, nodeCert.signingKey, 'ble-transcript', transcript, sig)) {
    throw new ProtocolError('bad_signature', 'box did not prove its node key')
  }
  const keys = sessionKeys(c, c.x25519(hs.ephemeralSecret, boxEph), transcript)
  return { cipher: new BleCipher(c, 'wallet', keys.wallet, keys.box), challenge, nodeCert }
}

export type BleInner =
  | { kind: 'token'; token: Bytes }
  | { kind: 'receipt'; receipt: Bytes }
  | { kind: 'reject'; code: ErrorCode }

export function encodeInner(m: BleInner): Bytes {
  switch (m.kind) {
    case 'token':
      return concat(Uint8Array.of(BLE_INNER_TOKEN), m.token)
    case 'receipt':
      return concat(Uint8Array.of(BLE_INNER_RECEIPT), m.receipt)
    case 'reject':
      return concat(Uint8Array.of(BLE_INNER_REJECT), utf8(m.code))
  }
}

export function decodeInner(b: Bytes): BleInner {
  check(b.length >= 1, 'truncated', 'empty inner message')
  const body = b.slice(1)
  switch (b[0]) {
    case BLE_INNER_TOKEN:
      return { kind: 'token', token: body }
    case BLE_INNER_RECEIPT:
      return { kind: 'receipt', receipt: body }
    case BLE_INNER_REJECT: {
      const code = fromUtf8(body)
      check((ERROR_CODES as readonly string[]).includes(code), 'bad_field', 'unknown rejection code')
      return { kind: 'reject', code: code as ErrorCode }
    }
    default:
      throw new ProtocolError('bad_type', 'unknown inner message type')
  }
}
