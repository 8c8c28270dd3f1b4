/**
 * The box's signed receipt (SPEC.md §6): proof for the customer that this box accepted this exact token.
 *   'R'(1) || tx id(16) || token hash(16) || device id(8) || accepted at(u32 s) || status(1) || signature(64)
 */
import { type Bytes, checkInt, equalBytes, Reader, U32_MAX, Writer } from './bytes.js'
import type { CryptoBackend } from './crypto/backend.js'
import { check, ProtocolError } from './errors.js'
import { bytesToId8, bytesToUuid, id8ToBytes, uuidToBytes } from './ids.js'
import { signDomain, verifyDomain } from './sign.js'
import { CHAIN_HASH_LEN, type PaymentToken, tokenHash } from './token.js'

export const RECEIPT_TYPE = 0x52 // 'R'
export const RECEIPT_LEN = 1 + 16 + 16 + 8 + 4 + 1 + 64
export const RECEIPT_ACCEPTED = 0x01

export interface Receipt {
  txId: string
  tokenHash: Bytes
  deviceId: string
  acceptedAt: number
  status: number
  signature: Bytes
  bytes: Bytes
}

/** Sign a receipt for `token` with the box's Ed25519 secret key; `acceptedAt` in unix seconds. */
export function signReceipt(
  c: CryptoBackend,
  nodeSigningSecret: Bytes,
  token: PaymentToken,
  acceptedAt: number,
): Receipt {
  checkInt(acceptedAt, 0, U32_MAX, 'acceptedAt')
  const body = new Writer()
    .u8(RECEIPT_TYPE)
    .raw(uuidToBytes(token.txId), 16)
    .raw(tokenHash(c, token), CHAIN_HASH_LEN)
    .raw(id8ToBytes(token.deviceId), 8)
    .u32(acceptedAt)
    .u8(RECEIPT_ACCEPTED)
    .finish()
  return decodeReceipt(
    new Writer()
      .raw(body)
      .raw(signDomain(c, nodeSigningSecret, 'receipt', body))
      .finish(),
  )
}

export function decodeReceipt(bytes: Bytes): Receipt {
  if (bytes.length > RECEIPT_LEN) throw new ProtocolError('oversized', 'receipt too long')
  const r = new Reader(bytes, 'receipt')
  check(r.u8() === RECEIPT_TYPE, 'bad_type', 'not a receipt')
  const receipt: Receipt = {
    txId: bytesToUuid(r.bytes(16)),
    tokenHash: r.bytes(CHAIN_HASH_LEN),
    deviceId: bytesToId8(r.bytes(8)),
    acceptedAt: r.u32(),
    status: r.u8(),
    signature: r.bytes(64),
    bytes: bytes.slice(),
  }
  r.end()
  check(receipt.status === RECEIPT_ACCEPTED, 'bad_field', 'unknown receipt status')
  return receipt
}

/** Verify a receipt against the box's signing key and, when given, the token it must acknowledge. */
export function verifyReceipt(
  c: CryptoBackend,
  receipt: Receipt,
  nodeSigningKey: Bytes,
  token?: PaymentToken,
): void {
  const body = receipt.bytes.subarray(0, receipt.bytes.length - 64)
  if (!verifyDomain(c, nodeSigningKey, 'receipt', body, receipt.signature)) {
    throw new ProtocolError('bad_signature', 'receipt signature does not verify')
  }
  if (token) {
    check(receipt.txId === token.txId, 'bad_field', 'receipt is for another transaction')
    check(equalBytes(receipt.tokenHash, tokenHash(c, token)), 'bad_field', 'receipt is for another token')
    check(receipt.deviceId === token.deviceId, 'wrong_device', 'receipt from another device')
  }
}
