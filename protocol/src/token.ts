/**
 * The offline payment token (SPEC.md §4): signed by the wallet, carrying its wallet certificate, so anyone with
 * the issuer's public key can verify it offline. Counter + hash of the previous token chain a wallet's spending:
 * two valid tokens at one counter are a cryptographic proof of double spending.
 *
 * The currency is the certificate's (a purse is single-currency; the certificate is inside the signed bytes),
 * which keeps the QR form at 310 bytes.
 */
import { type Bytes, checkInt, concat, Reader, U32_MAX, utf8, Writer } from './bytes.js'
import {
  decodeWalletCertificate,
  verifyWalletCertificate,
  WALLET_CERT_LEN,
  type WalletCertificate,
} from './certificates.js'
import type { CryptoBackend } from './crypto/backend.js'
import { check, ProtocolError } from './errors.js'
import { bytesToId8, bytesToUuid, id8ToBytes, isUuidv7, uuidToBytes } from './ids.js'
import type { IssuerKeyring } from './keys.js'
import { signDomain, verifyDomain } from './sign.js'

/** Token without a merchant challenge (QR). */
export const TOKEN_TYPE = 0x54 // 'T'
/** Token with the box's 8-byte session challenge (BLE). */
export const TOKEN_TYPE_CHALLENGE = 0x42 // 'B'
export const TOKEN_LEN = 1 + 16 + WALLET_CERT_LEN + 8 + 8 + 4 + 4 + 16 + 4 + 64 // 257
export const TOKEN_LEN_CHALLENGE = TOKEN_LEN + 8 // 265
export const CHALLENGE_LEN = 8
export const CHAIN_HASH_LEN = 16

export interface PaymentTokenFields {
  txId: string
  merchantId: string
  deviceId: string
  amount: number
  counter: number
  prevHash: Bytes
  walletTime: number
  challenge?: Bytes
}

export interface PaymentToken extends PaymentTokenFields {
  cert: WalletCertificate
  /** = cert.currency */
  currency: string
  walletId: string
  signature: Bytes
  /** The full signed encoding. */
  bytes: Bytes
}

/** Sign a payment token with the wallet's secret key (or a pluggable signer). */
export function signToken(
  c: CryptoBackend,
  signer: Bytes | ((message: Bytes) => Bytes),
  cert: WalletCertificate,
  f: PaymentTokenFields,
): PaymentToken {
  check(isUuidv7(f.txId), 'bad_field', 'txId must be a UUIDv7')
  checkInt(f.amount, 1, U32_MAX, 'amount')
  checkInt(f.counter, 1, U32_MAX, 'counter')
  checkInt(f.walletTime, 0, U32_MAX, 'walletTime')
  const w = new Writer()
    .u8(f.challenge ? TOKEN_TYPE_CHALLENGE : TOKEN_TYPE)
    .raw(uuidToBytes(f.txId), 16)
    .raw(cert.bytes, WALLET_CERT_LEN)
    .raw(id8ToBytes(f.merchantId), 8)
    .raw(id8ToBytes(f.deviceId), 8)
    .u32(f.amount)
    .u32(f.counter)
    .raw(f.prevHash, CHAIN_HASH_LEN)
    .u32(f.walletTime)
  if (f.challenge) w.raw(f.challenge, CHALLENGE_LEN)
  const body = w.finish()
  const signature =
    typeof signer === 'function' ? signer(concat(domainPrefix, body)) : signDomain(c, signer, 'token', body)
  return decodeToken(concat(body, signature))
}

const domainPrefix = concat(utf8('opg/v1 token'), Uint8Array.of(0))

/** The exact bytes a wallet signs for a token body (for external/hardware signers). */
export function tokenSigningInput(body: Bytes): Bytes {
  return concat(domainPrefix, body)
}

/** Decode a token's structure (no signature check). */
export function decodeToken(bytes: Bytes): PaymentToken {
  if (bytes.length > TOKEN_LEN_CHALLENGE) throw new ProtocolError('oversized', 'token too long')
  const r = new Reader(bytes, 'token')
  const type = r.u8()
  check(type === TOKEN_TYPE || type === TOKEN_TYPE_CHALLENGE, 'bad_type', 'not a payment token')
  const txId = bytesToUuid(r.bytes(16))
  check(isUuidv7(txId), 'bad_field', 'txId is not a UUIDv7')
  const cert = decodeWalletCertificate(r.bytes(WALLET_CERT_LEN))
  const merchantId = bytesToId8(r.bytes(8))
  const deviceId = bytesToId8(r.bytes(8))
  const amount = r.u32()
  const counter = r.u32()
  const prevHash = r.bytes(CHAIN_HASH_LEN)
  const walletTime = r.u32()
  const challenge = type === TOKEN_TYPE_CHALLENGE ? r.bytes(CHALLENGE_LEN) : undefined
  const signature = r.bytes(64)
  r.end()
  check(amount >= 1, 'bad_field', 'amount must be positive')
  check(counter >= 1, 'bad_field', 'counter must be positive')
  const token: PaymentToken = {
    txId,
    cert,
    currency: cert.currency,
    walletId: cert.walletId,
    merchantId,
    deviceId,
    amount,
    counter,
    prevHash,
    walletTime,
    signature,
    bytes: bytes.slice(),
  }
  if (challenge) token.challenge = challenge
  return token
}

export interface VerifyTokenOptions {
  issuerKeys: IssuerKeyring
  /** Trusted time, unix seconds: certificate validity is checked against it. */
  nowS?: number
  merchantId?: string
  deviceId?: string
  /** When given, the token must carry exactly this challenge (BLE). */
  challenge?: Bytes
  /**
   * How the wallet certificate is checked (issuer signature and validity at `nowS`); default
   * verifyWalletCertificate. A verifier of many tokens per purse passes a cache of certificates it already
   * verified (keyed on the whole certificate bytes, signature included) so each purse costs one issuer check.
   */
  verifyCertificate?: (
    c: CryptoBackend,
    cert: WalletCertificate,
    issuerKeys: IssuerKeyring,
    nowS: number | undefined,
  ) => void
}

/**
 * Verify everything a token proves on its own: issuer signature and validity of its certificate, the wallet's
 * signature, amount within the per-payment limit and the purse, counter above the purse's base, and (when
 * given) the merchant, device and challenge it must name. Stateful checks (replay, cumulative spend,
 * revocation, exposure caps) belong to the box and the bridge.
 */
export function verifyToken(c: CryptoBackend, token: PaymentToken, o: VerifyTokenOptions): void {
  const checkCertificate = o.verifyCertificate ?? verifyWalletCertificate
  checkCertificate(c, token.cert, o.issuerKeys, o.nowS)
  const body = token.bytes.subarray(0, token.bytes.length - 64)
  if (!verifyDomain(c, token.cert.publicKey, 'token', body, token.signature)) {
    throw new ProtocolError('bad_signature', 'wallet signature does not verify')
  }
  if (o.merchantId !== undefined && token.merchantId !== o.merchantId) {
    throw new ProtocolError('wrong_merchant', 'token names another merchant')
  }
  if (o.deviceId !== undefined && token.deviceId !== o.deviceId) {
    throw new ProtocolError('wrong_device', 'token names another device')
  }
  if (token.amount > token.cert.perPaymentLimit)
    throw new ProtocolError('over_limit', 'over per-payment limit')
  if (token.amount > token.cert.purseAmount)
    throw new ProtocolError('over_purse', 'more than the purse holds')
  if (token.counter <= token.cert.counterBase)
    throw new ProtocolError('bad_counter', 'counter below purse base')
  if (o.challenge !== undefined) {
    const ch = token.challenge
    if (!ch || ch.length !== o.challenge.length || !ch.every((v, i) => v === o.challenge![i])) {
      throw new ProtocolError('bad_challenge', 'token does not carry this session challenge')
    }
  }
}

/** The chain link of a token: first 16 bytes of SHA-256 of its signed bytes. */
export function tokenHash(c: CryptoBackend, token: PaymentToken | Bytes): Bytes {
  const b = token instanceof Uint8Array ? token : token.bytes
  return c.sha256(b).slice(0, CHAIN_HASH_LEN)
}

/** prevHash of the first token under a certificate: first 16 bytes of SHA-256("opg/v1 chain" || 0 || cert). */
export function chainStart(c: CryptoBackend, cert: WalletCertificate): Bytes {
  return c.sha256(concat(utf8('opg/v1 chain'), Uint8Array.of(0), cert.bytes)).slice(0, CHAIN_HASH_LEN)
}

/**
 * The identity of a payment (SPEC.md §4): SHA-256 of the token's signed body, i.e. every byte but the signature.
 * Two encodings of one body (a re-signed or mauled signature) are the same payment, never a second token, so
 * a double-spend proof is always two different bodies.
 */
export function tokenBodyHash(c: CryptoBackend, token: PaymentToken | Bytes): Bytes {
  const b = token instanceof Uint8Array ? token : token.bytes
  return c.sha256(b.subarray(0, b.length - 64))
}
