/** Test records with recognisable contents. */
import type { NoticeRecord, PaymentRecord } from '../../src/vault/index.js'

export const KEY = new Uint8Array(16).fill(7)
export const OTHER_KEY = new Uint8Array(16).fill(9)
/** The state store's key: its own purpose key, never the vault's. */
export const STATE_KEY = new Uint8Array(16).fill(5)
export const T0 = Date.UTC(2026, 10, 27, 12, 0, 0)

/** Payment number `i`: wallet `w<k>` with counter i, amount 100 + i, txId derived from i. */
export function payment(i: number, over: Partial<PaymentRecord> = {}): PaymentRecord {
  const hex = i.toString(16).padStart(12, '0')
  return {
    kind: 'payment',
    txId: `0192f000-0000-7000-8000-${hex}`,
    walletId: `a1a1a1a1a1a1a1${(i % 7).toString(16).padStart(2, '0')}`,
    purseId: `purse-${i % 7}`,
    counter: i,
    amount: 100 + i,
    currency: 'EUR',
    merchantId: 'm0m0m0m0m0m0m0m0',
    deviceId: 'd0d0d0d0d0d0d0d0',
    acceptedAt: T0 + i * 1000,
    channel: i % 2 === 0 ? 'qr' : 'ble',
    token: new Uint8Array(300).fill(i & 0xff),
    receipt: new Uint8Array(120).fill((i + 1) & 0xff),
    ...over,
  }
}

export function notice(i: number, over: Partial<NoticeRecord> = {}): NoticeRecord {
  return {
    kind: 'notice',
    ref: `INV-${i}`,
    amount: 5000 + i,
    currency: 'EUR',
    counter: i,
    via: i % 2 === 0 ? 'sms' : 'mqtt',
    receivedAt: T0 + i * 1000,
    ...over,
  }
}

/** Plain-object view of a payment for deep comparison (Buffer vs Uint8Array does not matter). */
export function plain(p: PaymentRecord | undefined): unknown {
  if (!p) return p
  return {
    ...p,
    token: Buffer.from(p.token).toString('hex'),
    receipt: Buffer.from(p.receipt).toString('hex'),
  }
}
