/**
 * Certificates signed by a tenant's issuer key (SPEC.md §3):
 * - wallet certificate (132 bytes): binds a wallet key to an escrowed offline purse — limit, amount, currency,
 *   counter base, validity (≤ 72 h). Offline spending can never exceed the escrowed purse.
 * - node certificate (165 bytes): binds a box's Ed25519 signing key and X25519 encryption key to its tenant,
 *   merchant and device ids.
 */
import { type Bytes, checkInt, fromHex, fromUtf8, Reader, toHex, U32_MAX, utf8, Writer } from './bytes.js'
import type { CryptoBackend } from './crypto/backend.js'
import { check, ProtocolError } from './errors.js'
import { bytesToId8, id8ToBytes } from './ids.js'
import { type IssuerKeyring, type KeyPair, keyId } from './keys.js'
import { signDomain, verifyDomain } from './sign.js'

export const WALLET_CERT_TYPE = 0x57 // 'W'
export const NODE_CERT_TYPE = 0x4e // 'N'
export const WALLET_CERT_LEN = 132
export const NODE_CERT_LEN = 165
/** Allowed clock skew when checking "not yet valid", in seconds. */
export const CLOCK_SKEW_S = 300

const CURRENCY = /^[A-Z]{3}$/

export interface WalletCertificateFields {
  walletId: string
  publicKey: Bytes
  perPaymentLimit: number
  purseAmount: number
  currency: string
  counterBase: number
  issuedAt: number
  expiresAt: number
}

export interface WalletCertificate extends WalletCertificateFields {
  issuerKeyId: string
  signature: Bytes
  /** The full encoding, signature included. */
  bytes: Bytes
}

export interface NodeCertificateFields {
  tenantId: string
  merchantId: string
  deviceId: string
  signingKey: Bytes
  encryptionKey: Bytes
  issuedAt: number
  expiresAt: number
}

export interface NodeCertificate extends NodeCertificateFields {
  issuerKeyId: string
  signature: Bytes
  bytes: Bytes
}

function checkValidity(issuedAt: number, expiresAt: number): void {
  checkInt(issuedAt, 0, U32_MAX, 'issuedAt')
  checkInt(expiresAt, 0, U32_MAX, 'expiresAt')
  check(expiresAt > issuedAt, 'bad_field', 'expiresAt must be after issuedAt')
}

function walletBody(kid: string, f: WalletCertificateFields): Bytes {
  check(CURRENCY.test(f.currency), 'bad_field', 'currency must be an ISO 4217 alphabetic code')
  checkInt(f.perPaymentLimit, 1, U32_MAX, 'perPaymentLimit')
  checkInt(f.purseAmount, 1, U32_MAX, 'purseAmount')
  checkInt(f.counterBase, 0, U32_MAX - 1, 'counterBase')
  checkValidity(f.issuedAt, f.expiresAt)
  return new Writer()
    .u8(WALLET_CERT_TYPE)
    .raw(fromHex(kid), 4)
    .raw(id8ToBytes(f.walletId), 8)
    .raw(f.publicKey, 32)
    .u32(f.perPaymentLimit)
    .u32(f.purseAmount)
    .raw(utf8(f.currency), 3)
    .u32(f.counterBase)
    .u32(f.issuedAt)
    .u32(f.expiresAt)
    .finish()
}

/** Issue (sign) a wallet certificate with the issuer key pair. */
export function issueWalletCertificate(
  c: CryptoBackend,
  issuer: KeyPair,
  fields: WalletCertificateFields,
): WalletCertificate {
  const kid = keyId(c, issuer.publicKey)
  const body = walletBody(kid, fields)
  const signature = signDomain(c, issuer.secretKey, 'wallet-cert', body)
  return decodeWalletCertificate(new Writer().raw(body).raw(signature).finish())
}

/** Decode the structure of a wallet certificate (no signature check: see verifyWalletCertificate). */
export function decodeWalletCertificate(bytes: Bytes): WalletCertificate {
  if (bytes.length > WALLET_CERT_LEN) throw new ProtocolError('oversized', 'wallet certificate too long')
  const r = new Reader(bytes, 'wallet certificate')
  check(r.u8() === WALLET_CERT_TYPE, 'bad_type', 'not a wallet certificate')
  const issuerKeyId = toHex(r.bytes(4))
  const walletId = bytesToId8(r.bytes(8))
  const publicKey = r.bytes(32)
  const perPaymentLimit = r.u32()
  const purseAmount = r.u32()
  const currency = fromUtf8(r.bytes(3))
  const counterBase = r.u32()
  const issuedAt = r.u32()
  const expiresAt = r.u32()
  const signature = r.bytes(64)
  r.end()
  check(CURRENCY.test(currency), 'bad_field', 'bad currency code')
  check(perPaymentLimit >= 1 && purseAmount >= 1, 'bad_field', 'limits must be positive')
  check(counterBase < U32_MAX, 'bad_field', 'counter base out of range')
  check(expiresAt > issuedAt, 'bad_field', 'certificate validity is empty')
  return {
    issuerKeyId,
    walletId,
    publicKey,
    perPaymentLimit,
    purseAmount,
    currency,
    counterBase,
    issuedAt,
    expiresAt,
    signature,
    bytes: bytes.slice(),
  }
}

function verifyIssued(
  c: CryptoBackend,
  cert: { issuerKeyId: string; signature: Bytes; bytes: Bytes; issuedAt: number; expiresAt: number },
  domain: 'wallet-cert' | 'node-cert',
  issuerKeys: IssuerKeyring,
  nowS: number | undefined,
): void {
  const pub = issuerKeys.get(cert.issuerKeyId)
  if (!pub) throw new ProtocolError('unknown_key', `unknown issuer key ${cert.issuerKeyId}`)
  const body = cert.bytes.subarray(0, cert.bytes.length - 64)
  if (!verifyDomain(c, pub, domain, body, cert.signature)) {
    throw new ProtocolError('bad_signature', `${domain}: issuer signature does not verify`)
  }
  if (nowS !== undefined) checkIssuedValidity(cert, domain, nowS)
}

function checkIssuedValidity(
  cert: { issuedAt: number; expiresAt: number },
  domain: 'wallet-cert' | 'node-cert',
  nowS: number,
): void {
  if (nowS >= cert.expiresAt) throw new ProtocolError('expired', `${domain} expired`)
  if (nowS + CLOCK_SKEW_S < cert.issuedAt) throw new ProtocolError('not_yet_valid', `${domain} not yet valid`)
}

/**
 * The validity period of a wallet certificate alone (no signature check): for a verifier that already checked
 * these exact certificate bytes' issuer signature (a cache keyed on the whole certificate) and must still
 * check the period against its clock on every use.
 */
export function checkWalletCertificateValidity(cert: WalletCertificate, nowS: number): void {
  checkIssuedValidity(cert, 'wallet-cert', nowS)
}

/** Verify the issuer signature and, when `nowS` (unix seconds) is given, the validity period. */
export function verifyWalletCertificate(
  c: CryptoBackend,
  cert: WalletCertificate,
  issuerKeys: IssuerKeyring,
  nowS?: number,
): void {
  verifyIssued(c, cert, 'wallet-cert', issuerKeys, nowS)
}

/** Issue (sign) a node certificate with the issuer key pair. */
export function issueNodeCertificate(
  c: CryptoBackend,
  issuer: KeyPair,
  f: NodeCertificateFields,
): NodeCertificate {
  checkValidity(f.issuedAt, f.expiresAt)
  const body = new Writer()
    .u8(NODE_CERT_TYPE)
    .raw(fromHex(keyId(c, issuer.publicKey)), 4)
    .raw(id8ToBytes(f.tenantId), 8)
    .raw(id8ToBytes(f.merchantId), 8)
    .raw(id8ToBytes(f.deviceId), 8)
    .raw(f.signingKey, 32)
    .raw(f.encryptionKey, 32)
    .u32(f.issuedAt)
    .u32(f.expiresAt)
    .finish()
  const signature = signDomain(c, issuer.secretKey, 'node-cert', body)
  return decodeNodeCertificate(new Writer().raw(body).raw(signature).finish())
}

export function decodeNodeCertificate(bytes: Bytes): NodeCertificate {
  if (bytes.length > NODE_CERT_LEN) throw new ProtocolError('oversized', 'node certificate too long')
  const r = new Reader(bytes, 'node certificate')
  check(r.u8() === NODE_CERT_TYPE, 'bad_type', 'not a node certificate')
  const cert: NodeCertificate = {
    issuerKeyId: toHex(r.bytes(4)),
    tenantId: bytesToId8(r.bytes(8)),
    merchantId: bytesToId8(r.bytes(8)),
    deviceId: bytesToId8(r.bytes(8)),
    signingKey: r.bytes(32),
    encryptionKey: r.bytes(32),
    issuedAt: r.u32(),
    expiresAt: r.u32(),
    signature: r.bytes(64),
    bytes: bytes.slice(),
  }
  r.end()
  check(cert.expiresAt > cert.issuedAt, 'bad_field', 'certificate validity is empty')
  return cert
}

export function verifyNodeCertificate(
  c: CryptoBackend,
  cert: NodeCertificate,
  issuerKeys: IssuerKeyring,
  nowS?: number,
): void {
  verifyIssued(c, cert, 'node-cert', issuerKeys, nowS)
}
