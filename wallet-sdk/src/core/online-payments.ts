/**
 * Online payments from the wallet (bridge routes in cloud-bridge/src/online/routes.ts): card top-up with a
 * payment-provider token (never a card number), paying an invoice by its `OPGI:` QR from the balance or by card,
 * and paying the merchant on a sticker from the balance. Every call carries an idempotency key: make one per
 * purchase, keep it, and reuse it on retry — a retried request then returns the first payment and charges nothing.
 */
import type { BridgeClient } from './bridge-client.js'
import { WalletError } from './errors.js'
import type { MerchantTarget } from './sticker.js'

/** An online payment as the bridge reports it. Amounts in minor units. */
export interface OnlinePaymentInfo {
  id: string
  kind: 'invoice' | 'topup' | 'transfer'
  method: 'card' | 'debit' | 'wallet'
  status: 'pending' | 'succeeded' | 'failed'
  /** card_declined, insufficient_funds, expired_card, provider_unavailable … */
  failureCode: string | null
  amount: number
  currency: string
  invoiceId: string | null
  walletId: string | null
  merchantId: string | null
  deviceId: string | null
}

/** A merchant's invoice. */
export interface InvoiceInfo {
  id: string
  merchantId: string
  deviceId: string | null
  reference: string
  amount: number
  currency: string
  status: 'open' | 'paid'
  expiresAt: string
  paidAt: string | null
  paymentId: string | null
  /** `OPGI:` + tenant id + invoice id. */
  qr: string
}

const INVOICE_QR = /^OPGI:([0-9a-f]{16})([0-9a-f]{16})$/

/** The tenant and invoice ids in an invoice QR (`OPGI:<tenant><invoice>`); WalletError 'bad_sticker' otherwise. */
export function parseInvoiceQr(text: string): { tenantId: string; invoiceId: string } {
  const m = INVOICE_QR.exec(text.trim())
  if (!m) throw new WalletError('bad_sticker', 'this is not an opg invoice QR code')
  return { tenantId: m[1]!, invoiceId: m[2]! }
}

function invoiceIdOf(invoice: string): string {
  return invoice.startsWith('OPGI:') ? parseInvoiceQr(invoice).invoiceId : checkedId(invoice, 'bad_sticker')
}

/** Ids go into URL paths: anything but 16 lowercase hex is refused before a request is made. */
function checkedId(id: string, code: 'no_wallet' | 'bad_sticker' | 'unknown_payment'): string {
  if (!/^[0-9a-f]{16}$/.test(id)) throw new WalletError(code, 'ids are 16 lowercase hex characters')
  return id
}

/** Top up the wallet balance by card (the wallet's own key). A declined card is WalletError 'bridge' + its code. */
export async function topUpByCard(
  client: BridgeClient,
  walletId: string,
  r: { amount: number; currency: string; cardToken: string; idempotencyKey: string },
): Promise<OnlinePaymentInfo> {
  return (await client.request(
    'POST',
    `/v1/wallets/${checkedId(walletId, 'no_wallet')}/topups`,
    r,
  )) as unknown as OnlinePaymentInfo
}

/** Read an invoice (by id or by its `OPGI:` QR text) before paying it: show amount and reference. */
export async function getInvoice(client: BridgeClient, invoice: string): Promise<InvoiceInfo> {
  return (await client.request('GET', `/v1/invoices/${invoiceIdOf(invoice)}`)) as unknown as InvoiceInfo
}

/** Pay an invoice from the wallet balance, or by card with a provider token (the wallet's own key). */
export async function payInvoiceOnline(
  client: BridgeClient,
  r: { invoice: string; idempotencyKey: string; cardToken?: string },
): Promise<OnlinePaymentInfo> {
  const body = r.cardToken
    ? { method: 'card', cardToken: r.cardToken, idempotencyKey: r.idempotencyKey }
    : { method: 'wallet', idempotencyKey: r.idempotencyKey }
  const path = `/v1/invoices/${invoiceIdOf(r.invoice)}/payments`
  return (await client.request('POST', path, body)) as unknown as OnlinePaymentInfo
}

/**
 * Pay the merchant on a verified sticker from the wallet balance while online (no purse involved): the money
 * lands in the merchant's wallet at once.
 */
export async function payMerchantOnline(
  client: BridgeClient,
  walletId: string,
  r: { to: MerchantTarget; amount: number; currency: string; reference?: string; idempotencyKey: string },
): Promise<OnlinePaymentInfo> {
  const body = {
    merchantId: r.to.merchantId,
    deviceId: r.to.deviceId,
    amount: r.amount,
    currency: r.currency,
    ...(r.reference ? { reference: r.reference } : {}),
    idempotencyKey: r.idempotencyKey,
  }
  return (await client.request(
    'POST',
    `/v1/wallets/${checkedId(walletId, 'no_wallet')}/transfers`,
    body,
  )) as unknown as OnlinePaymentInfo
}

/** One online payment (e.g. a card payment still pending). */
export async function onlinePayment(client: BridgeClient, paymentId: string): Promise<OnlinePaymentInfo> {
  return (await client.request(
    'GET',
    `/v1/online-payments/${checkedId(paymentId, 'unknown_payment')}`,
  )) as unknown as OnlinePaymentInfo
}
