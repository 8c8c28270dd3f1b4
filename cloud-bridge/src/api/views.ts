/**
 * Turning domain objects into the API's JSON shapes (schemas.ts): bytes to base64url, bigint amounts to
 * numbers (every amount fits u32 on the wire), dates to ISO strings, reconciliation states to API statuses.
 */
import type { CreatedKey, KeyInfo } from '../auth/api-keys.js'
import type { Claim } from '../claims/claims.js'
import type { Device } from '../fleet/devices.js'
import type { Merchant } from '../tenants/tenants.js'
import type { Purse, Wallet } from '../wallets/wallets.js'
import type { PaymentView, SmsRecord } from './ports.js'

export const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url')
export const fromB64u = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64url'))
const iso = (d: Date | null): string | null => (d ? d.toISOString() : null)

export const keyCreatedView = (k: CreatedKey) => ({
  id: k.id,
  key: k.key,
  role: k.role,
  subjectId: k.subjectId,
})

export const keyInfoView = (k: KeyInfo) => ({
  id: k.id,
  role: k.role,
  subjectId: k.subjectId,
  label: k.label,
  createdAt: k.createdAt.toISOString(),
  revokedAt: iso(k.revokedAt),
  expiresAt: iso(k.expiresAt),
  lastUsedAt: iso(k.lastUsedAt),
  rotatedAt: iso(k.rotatedAt),
  previousSecretExpiresAt: iso(k.previousSecretExpiresAt),
})

export const merchantView = (m: Merchant) => ({
  id: m.id,
  name: m.name,
  createdAt: m.createdAt.toISOString(),
  phone: m.phone,
  bankAccountRef: m.bankAccountRef,
})

export const deviceView = (d: Device) => ({
  id: d.id,
  merchantId: d.merchantId,
  label: d.label,
  createdAt: d.createdAt.toISOString(),
  certified: d.certified,
  certExpiresAt: iso(d.certExpiresAt),
  lastSeenAt: iso(d.lastSeenAt),
  online: d.online,
  modemNumber: d.modemNumber,
  pendingCount: d.pendingCount,
  revoked: d.revoked,
})

export const walletView = (w: Wallet) => ({
  id: w.id,
  publicKey: b64u(w.publicKey),
  phone: w.phone,
  currency: w.currency,
  frozen: w.frozen,
  frozenReason: w.frozenReason,
  nextCounter: Number(w.nextCounter),
  createdAt: w.createdAt.toISOString(),
})

export const purseView = (p: Purse) => ({
  id: p.id,
  walletId: p.walletId,
  amount: Number(p.amount),
  perPaymentLimit: Number(p.perPaymentLimit),
  currency: p.currency,
  counterBase: Number(p.counterBase),
  counterEnd: Number(p.counterEnd),
  issuerKeyId: p.issuerKeyId,
  certificate: b64u(p.certificate),
  issuedAt: p.issuedAt.toISOString(),
  expiresAt: p.expiresAt.toISOString(),
})

export const paymentView = (p: PaymentView) => ({
  txId: p.txId,
  walletId: p.walletId,
  merchantId: p.merchantId,
  deviceId: p.deviceId,
  amount: Number(p.amount),
  currency: p.currency,
  counter: Number(p.counter),
  status: p.status,
  firstSeenAt: p.firstSeenAt.toISOString(),
  holdUntil: iso(p.holdUntil),
})

export const claimView = (c: Claim) => ({
  id: c.id,
  txId: c.txId,
  walletId: c.walletId,
  reason: c.reason,
  status: c.status,
  filedAt: c.filedAt.toISOString(),
  resolvedAt: iso(c.resolvedAt),
  note: c.note,
})

export const smsView = (s: SmsRecord) => ({
  id: s.id,
  to: s.to,
  body: s.body,
  status: s.status,
  createdAt: s.createdAt.toISOString(),
})

export const keyringView = (ring: ReadonlyMap<string, Uint8Array>) =>
  [...ring].map(([keyId, publicKey]) => ({ keyId, publicKey: b64u(publicKey) }))
