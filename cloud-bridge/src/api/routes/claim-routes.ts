/**
 * Fraud claims (payer files, operator resolves), payment status, and the sandbox SMS listing.
 */
import { createRoute, z } from '@hono/zod-openapi'
import { BridgeError } from '../../api/errors.js'
import { requireRole, requireSubject } from '../../auth/middleware.js'
import { fileClaim, getClaim, listClaims, resolveClaim } from '../../claims/claims.js'
import { getWallet } from '../../wallets/wallets.js'
import type { ApiApp, ApiDeps } from '../app.js'
import { ClaimSchema, Id, PaymentSchema, SmsSchema, TxId } from '../schemas.js'
import { claimView, paymentView, smsView } from '../views.js'
import { body, errors, json, secured } from './helpers.js'

const fileRoute = createRoute({
  method: 'post',
  path: '/v1/wallets/{walletId}/claims',
  tags: ['claims'],
  security: secured,
  summary: 'File a fraud claim on one of the wallet’s payments (the wallet itself): the payment is disputed',
  request: {
    params: z.object({ walletId: Id }),
    body: body(z.object({ txId: TxId, reason: z.string().min(1).max(500) })),
  },
  responses: { 201: json(ClaimSchema, 'the claim'), ...errors },
})

const listRoute = createRoute({
  method: 'get',
  path: '/v1/claims',
  tags: ['claims'],
  security: secured,
  summary: 'Claims (operator: all of the tenant; wallet: its own)',
  request: { query: z.object({ status: z.enum(['open', 'reversed', 'upheld']).optional() }) },
  responses: { 200: json(z.object({ claims: z.array(ClaimSchema) }), 'the claims'), ...errors },
})

const getRoute = createRoute({
  method: 'get',
  path: '/v1/claims/{claimId}',
  tags: ['claims'],
  security: secured,
  summary: 'One claim (operator, or the wallet that filed it)',
  request: { params: z.object({ claimId: Id }) },
  responses: { 200: json(ClaimSchema, 'the claim'), ...errors },
})

const resolveRoute = createRoute({
  method: 'post',
  path: '/v1/claims/{claimId}/resolve',
  tags: ['operator'],
  security: secured,
  summary: 'Decide a claim (operator): reverse refunds the payer, uphold pays the merchant',
  request: {
    params: z.object({ claimId: Id }),
    body: body(z.object({ decision: z.enum(['reverse', 'uphold']), note: z.string().max(500).optional() })),
  },
  responses: { 200: json(ClaimSchema, 'the resolved claim'), ...errors },
})

const paymentRoute = createRoute({
  method: 'get',
  path: '/v1/payments/{txId}',
  tags: ['payments'],
  security: secured,
  summary: 'Status of one offline payment (operator, its payer wallet, or its merchant)',
  request: { params: z.object({ txId: TxId }) },
  responses: { 200: json(PaymentSchema, 'the payment'), ...errors },
})

const smsRoute = createRoute({
  method: 'get',
  path: '/v1/sandbox/sms',
  tags: ['operator'],
  security: secured,
  summary: 'SMS recorded by the sandbox provider (operator; demos and tests)',
  request: { query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }) },
  responses: {
    200: json(z.object({ messages: z.array(SmsSchema) }), 'the messages'),
    ...errors,
    503: json(
      z.object({ error: z.object({ code: z.string(), message: z.string() }) }),
      'no sandbox SMS provider',
    ),
  },
})

/** Register the claim, payment and SMS routes. */
export function registerClaimRoutes(app: ApiApp, deps: ApiDeps): void {
  const { db, reconciler } = deps

  app.openapi(fileRoute, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'wallet')
    const { walletId } = c.req.valid('param')
    requireSubject(p, 'wallet', walletId)
    if (!(await getWallet(db, p.tenantId, walletId))) throw new BridgeError('not_found', 'no such wallet')
    const { txId, reason } = c.req.valid('json')
    return c.json(claimView(await fileClaim(db, reconciler, p.tenantId, walletId, txId, reason)), 201)
  })

  app.openapi(listRoute, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'operator', 'wallet')
    const { status } = c.req.valid('query')
    const list = await listClaims(db, p.tenantId, {
      ...(p.role === 'wallet' ? { walletId: p.subjectId! } : {}),
      ...(status ? { status } : {}),
    })
    return c.json({ claims: list.map(claimView) }, 200)
  })

  app.openapi(getRoute, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'operator', 'wallet')
    const claim = await getClaim(db, p.tenantId, c.req.valid('param').claimId)
    if (!claim) throw new BridgeError('not_found', 'no such claim')
    requireSubject(p, 'wallet', claim.walletId)
    return c.json(claimView(claim), 200)
  })

  app.openapi(resolveRoute, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'operator')
    const { decision, note } = c.req.valid('json')
    const claim = await resolveClaim(
      db,
      reconciler,
      p.tenantId,
      c.req.valid('param').claimId,
      decision,
      p.keyId,
      note ?? null,
    )
    return c.json(claimView(claim), 200)
  })

  app.openapi(paymentRoute, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'operator', 'wallet', 'merchant')
    const pay = await reconciler.payment(p.tenantId, c.req.valid('param').txId)
    if (!pay) throw new BridgeError('not_found', 'no such payment')
    requireSubject(p, 'wallet', pay.walletId)
    requireSubject(p, 'merchant', pay.merchantId)
    return c.json(paymentView(pay), 200)
  })

  app.openapi(smsRoute, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'operator')
    if (!deps.sms) throw new BridgeError('not_configured', 'the SMS provider is not the sandbox')
    const list = await deps.sms.listSandbox(p.tenantId, { limit: c.req.valid('query').limit })
    return c.json({ messages: list.map(smsView) }, 200)
  })
}
