/**
 * HTTP routes of the online payments (seed cases 1 and 3): invoices and their QR, paying an invoice by card
 * or from the wallet, wallet top-ups by card, wallet → merchant QR transfers (payouts: payout-routes.ts), and the provider's
 * webhook (signature-checked, no API key). Card numbers never reach these routes: only provider tokens.
 */
import { createRoute, z } from '@hono/zod-openapi'
import type { ApiApp } from '../api/app.js'
import { BridgeError } from '../api/errors.js'
import { body, errors, json, secured } from '../api/routes/helpers.js'
import { Amount, Currency, Id } from '../api/schemas.js'
import { requireRole, requireSubject } from '../auth/middleware.js'
import type { Db } from '../db/types.js'
import { OnlineError } from './errors.js'
import { registerPayoutRoutes } from './payout-routes.js'
import { ProviderError, WEBHOOK_STATUS } from './provider.js'
import { failureError, type Invoice, type OnlinePayment, type OnlinePayments } from './service.js'

const Reference = z
  .string()
  .regex(/^[A-Za-z0-9-]{1,32}$/)
  .openapi({ example: 'INV-1001' })
const IdempotencyKey = z.string().min(8).max(128).openapi({ example: '5c1b8f0e-pay-1' })
const CardToken = z.string().min(3).max(100).openapi({ example: 'tok_visa' })

const InvoiceSchema = z.object({
  id: Id,
  merchantId: Id,
  deviceId: Id.nullable(),
  reference: Reference,
  amount: Amount,
  currency: Currency,
  status: z.enum(['open', 'paid']),
  expiresAt: z.string(),
  paidAt: z.string().nullable(),
  paymentId: Id.nullable(),
  qr: z.string().openapi({ description: 'Invoice QR text: OPGI:<tenant id><invoice id>' }),
})
const OnlinePaymentSchema = z.object({
  id: Id,
  kind: z.enum(['invoice', 'topup', 'transfer']),
  method: z.enum(['card', 'debit', 'wallet']),
  status: z.enum(['pending', 'succeeded', 'failed']),
  failureCode: z.string().nullable(),
  amount: Amount,
  currency: Currency,
  invoiceId: Id.nullable(),
  walletId: Id.nullable(),
  merchantId: Id.nullable(),
  deviceId: Id.nullable(),
})
/** The QR a merchant shows for an invoice: the wallet reads the tenant and invoice ids from it. */
export const invoiceQr = (tenantId: string, invoiceId: string) => `OPGI:${tenantId}${invoiceId}`

const invoiceView = (tenantId: string, i: Invoice) => ({
  id: i.id,
  merchantId: i.merchantId,
  deviceId: i.deviceId,
  reference: i.reference,
  amount: Number(i.amount),
  currency: i.currency,
  status: i.status,
  expiresAt: i.expiresAt.toISOString(),
  paidAt: i.paidAt?.toISOString() ?? null,
  paymentId: i.paymentId,
  qr: invoiceQr(tenantId, i.id),
})
const paymentView = (p: OnlinePayment) => ({ ...p, amount: Number(p.amount) })
const tags = ['online payments']
const created = (schema: z.ZodType, d: string) => ({ 201: json(schema, d), ...errors })

const routes = {
  createInvoice: createRoute({
    method: 'post',
    path: '/v1/invoices',
    tags,
    security: secured,
    summary: 'Create an invoice (the merchant, its box, or an operator); returns it with its QR text',
    request: {
      body: body(
        z.object({
          merchantId: Id.optional(),
          deviceId: Id.optional(),
          reference: Reference,
          amount: Amount,
          currency: Currency,
          expiresInSeconds: z
            .number()
            .int()
            .min(60)
            .max(30 * 86400)
            .default(3600),
        }),
      ),
    },
    responses: created(InvoiceSchema, 'the invoice'),
  }),
  getInvoice: createRoute({
    method: 'get',
    path: '/v1/invoices/{invoiceId}',
    tags,
    security: secured,
    summary: 'One invoice (any key of the tenant: a wallet reads it before paying)',
    request: { params: z.object({ invoiceId: Id }) },
    responses: { 200: json(InvoiceSchema, 'the invoice'), ...errors },
  }),
  payInvoice: createRoute({
    method: 'post',
    path: '/v1/invoices/{invoiceId}/payments',
    tags,
    security: secured,
    summary: 'Pay an invoice by card or debit card (provider token) or from the wallet balance (the wallet)',
    request: {
      params: z.object({ invoiceId: Id }),
      body: body(
        z.discriminatedUnion('method', [
          z.object({ method: z.literal('card'), cardToken: CardToken, idempotencyKey: IdempotencyKey }),
          z.object({ method: z.literal('wallet'), idempotencyKey: IdempotencyKey }),
        ]),
      ),
    },
    responses: created(
      OnlinePaymentSchema,
      'the payment (card payments may be pending until the provider confirms)',
    ),
  }),
  topUp: createRoute({
    method: 'post',
    path: '/v1/wallets/{walletId}/topups',
    tags,
    security: secured,
    summary: 'Top up the wallet by card (the wallet itself)',
    request: {
      params: z.object({ walletId: Id }),
      body: body(
        z.object({
          amount: Amount,
          currency: Currency,
          cardToken: CardToken,
          idempotencyKey: IdempotencyKey,
        }),
      ),
    },
    responses: created(OnlinePaymentSchema, 'the top-up'),
  }),
  transfer: createRoute({
    method: 'post',
    path: '/v1/wallets/{walletId}/transfers',
    tags,
    security: secured,
    summary:
      'Pay a merchant from the wallet, from its sticker QR: lands in the merchant wallet (the wallet itself)',
    request: {
      params: z.object({ walletId: Id }),
      body: body(
        z.object({
          merchantId: Id,
          deviceId: Id.optional(),
          amount: Amount,
          currency: Currency,
          reference: Reference.optional(),
          idempotencyKey: IdempotencyKey,
        }),
      ),
    },
    responses: created(OnlinePaymentSchema, 'the transfer'),
  }),
  getPayment: createRoute({
    method: 'get',
    path: '/v1/online-payments/{paymentId}',
    tags,
    security: secured,
    summary: 'One online payment',
    request: { params: z.object({ paymentId: Id }) },
    responses: { 200: json(OnlinePaymentSchema, 'the payment'), ...errors },
  }),
}

/** The merchant a box belongs to (undefined when the box is gone). */
async function deviceMerchant(db: Db, tenantId: string, deviceId: string): Promise<string | undefined> {
  const r = await db.query<{ merchant_id: string }>(
    'SELECT merchant_id FROM devices WHERE tenant_id = $1 AND id = $2',
    [tenantId, deviceId],
  )
  return r.rows[0]?.merchant_id
}

/** Register the online payment routes on the API app. */
export function registerOnlineRoutes(
  app: ApiApp,
  deps: { db: Db; online: OnlinePayments; now: () => Date },
): void {
  const { online, db } = deps
  registerPayoutRoutes(app, { ...deps, testMode: online.testMode })

  app.openapi(routes.createInvoice, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'operator', 'merchant', 'device')
    const i = c.req.valid('json')
    let merchantId = i.merchantId
    let deviceId = i.deviceId ?? null
    if (p.role === 'merchant') merchantId = p.subjectId!
    if (p.role === 'device') {
      deviceId = p.subjectId!
      merchantId = await deviceMerchant(db, p.tenantId, deviceId)
    }
    if (!merchantId) throw new BridgeError('invalid_request', 'merchantId is required')
    const inv = await online.createInvoice(p.tenantId, {
      ...i,
      merchantId,
      deviceId,
      amount: BigInt(i.amount),
    })
    return c.json(invoiceView(p.tenantId, inv), 201)
  })

  app.openapi(routes.getInvoice, async (c) => {
    const p = c.get('principal')
    const inv = await online.getInvoice(p.tenantId, c.req.valid('param').invoiceId)
    // A merchant and its boxes see only that merchant's invoices; a wallet reads any to pay it (it has the QR).
    if (p.role === 'merchant' && inv.merchantId !== p.subjectId)
      throw new OnlineError('invoice_not_found', 'no such invoice')
    if (p.role === 'device' && (await deviceMerchant(db, p.tenantId, p.subjectId!)) !== inv.merchantId)
      throw new OnlineError('invoice_not_found', 'no such invoice')
    return c.json(invoiceView(p.tenantId, inv), 200)
  })

  app.openapi(routes.payInvoice, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'wallet')
    const b = c.req.valid('json')
    const { invoiceId } = c.req.valid('param')
    const pay =
      b.method === 'wallet'
        ? await online.payInvoice(p.tenantId, invoiceId, {
            method: 'wallet',
            walletId: p.subjectId!,
            idempotencyKey: b.idempotencyKey,
            scope: p.keyId,
          })
        : await online.payInvoice(p.tenantId, invoiceId, { ...b, scope: p.keyId })
    const settled = pay.status === 'pending' ? await online.waitSettled(p.tenantId, pay.id, 2000) : pay
    const failed = failureError(settled)
    if (failed) throw failed
    return c.json(paymentView(settled), 201)
  })

  app.openapi(routes.topUp, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'wallet')
    const { walletId } = c.req.valid('param')
    requireSubject(p, 'wallet', walletId)
    const b = c.req.valid('json')
    const pay = await online.topUp(p.tenantId, walletId, { ...b, amount: BigInt(b.amount), scope: p.keyId })
    const settled = pay.status === 'pending' ? await online.waitSettled(p.tenantId, pay.id, 2000) : pay
    const failed = failureError(settled)
    if (failed) throw failed
    return c.json(paymentView(settled), 201)
  })

  app.openapi(routes.transfer, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'wallet')
    const { walletId } = c.req.valid('param')
    requireSubject(p, 'wallet', walletId)
    const b = c.req.valid('json')
    const pay = await online.transfer(p.tenantId, walletId, {
      ...b,
      amount: BigInt(b.amount),
      scope: p.keyId,
    })
    return c.json(paymentView(pay), 201)
  })

  app.openapi(routes.getPayment, async (c) => {
    const p = c.get('principal')
    const pay = await online.getPayment(p.tenantId, c.req.valid('param').paymentId)
    if (p.role === 'wallet' && pay.walletId !== p.subjectId)
      throw new OnlineError('payment_not_found', 'no such payment')
    if (p.role === 'merchant' && pay.merchantId !== p.subjectId)
      throw new OnlineError('payment_not_found', 'no such payment')
    if (p.role === 'device') throw new OnlineError('payment_not_found', 'no such payment')
    return c.json(paymentView(pay), 200)
  })

  // The provider's webhook: authenticated by its signature, not by an API key.
  app.post('/webhooks/provider', async (c) => {
    try {
      await online.handleWebhook(await c.req.text(), c.req.header('opg-signature'))
    } catch (err) {
      if (err instanceof ProviderError && err.code !== 'provider_unavailable')
        return c.json({ error: { code: err.code, message: err.message } }, WEBHOOK_STATUS[err.code])
      throw err
    }
    return c.json({ ok: true }, 200)
  })
}
