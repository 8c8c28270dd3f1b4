/**
 * The offline purse as plain data: its status for an app, and the pure steps of a payment under it — the
 * token fields of a reserved (write-ahead) payment and the log entry it becomes once signed.
 */
import {
  decodeWalletCertificate,
  fromHex,
  type PaymentToken,
  type PaymentTokenFields,
  toHex,
} from '@opg/protocol'
import type { LogRecord, PendingRecord, PurseRecord } from './state.js'

/** The offline purse as an app shows it. Amounts are minor units of `currency`. */
export interface PurseStatus {
  walletId: string
  currency: string
  purseAmount: number
  remaining: number
  spent: number
  perPaymentLimit: number
  nextCounter: number
  issuedAt: number
  expiresAt: number
  expired: boolean
}

/** The status of a stored purse at wallet time `nowS`. */
export function purseStatus(p: PurseRecord, nowS: number): PurseStatus {
  const cert = decodeWalletCertificate(fromHex(p.cert))
  return {
    walletId: cert.walletId,
    currency: cert.currency,
    purseAmount: cert.purseAmount,
    remaining: p.remaining,
    spent: cert.purseAmount - p.remaining,
    perPaymentLimit: cert.perPaymentLimit,
    nextCounter: p.nextCounter,
    issuedAt: cert.issuedAt,
    expiresAt: cert.expiresAt,
    expired: nowS >= cert.expiresAt,
  }
}

/** The exact token content a reserved payment fixed before signing. */
export function pendingTokenFields(p: PendingRecord): PaymentTokenFields {
  return {
    txId: p.txId,
    merchantId: p.merchantId,
    deviceId: p.deviceId,
    amount: p.amount,
    counter: p.counter,
    prevHash: fromHex(p.prevHash),
    walletTime: p.walletTime,
    ...(p.challenge ? { challenge: fromHex(p.challenge) } : {}),
  }
}

/** The log entry of a signed payment. */
export function logEntryFor(p: PendingRecord, token: PaymentToken, recovered: boolean): LogRecord {
  return {
    txId: p.txId,
    counter: p.counter,
    amount: p.amount,
    currency: token.currency,
    merchantId: p.merchantId,
    deviceId: p.deviceId,
    merchantName: p.merchantName,
    nodeCert: p.nodeCert,
    token: toHex(token.bytes),
    createdAt: p.createdAt,
    ...(recovered ? { recovered: true } : {}),
  }
}
