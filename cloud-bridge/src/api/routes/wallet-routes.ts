/**
 * Wallet routes: registration, balance, operator top-up, offline purse loading, signed-log upload,
 * history, and the operator's freeze/unfreeze.
 */

import { createRoute, z } from '@hono/zod-openapi'
import { BridgeError } from '../../api/errors.js'
import type { Principal } from '../../auth/api-keys.js'
import { audit } from '../../auth/audit.js'
import { requireRole, requireSubject } from '../../auth/middleware.js'
import { OnlineError } from '../../online/errors.js'
import { getTenant } from '../../tenants/tenants.js'
import {
  creditWallet,
  getWallet,
  listPurses,
  loadPurse,
  registerWallet,
  setFrozen,
  type Wallet,
  walletBalance,
} from '../../wallets/wallets.js'
import type { ApiApp, ApiDeps } from '../app.js'
import type { Queryable } from '../ports.js'
import {
  Amount,
  ApiKeyCreated,
  B64u,
  BalanceSchema,
  Currency,
  Id,
  LogResult,
  LogUpload,
  PaymentSchema,
  Phone,
  PurseRequest,
  PurseSchema,
  WalletSchema,
} from '../schemas.js'
import { fromB64u, keyCreatedView, paymentView, purseView, walletView } from '../views.js'
import { body, errors, json, secured } from './helpers.js'

const tags = ['wallets']
const WalletParam = z.object({ walletId: Id })

const registerRoute = createRoute({
  method: 'post',
  path: '/v1/wallets',
  tags,
  security: secured,
  summary: 'Register a wallet’s Ed25519 public key and phone (operator); returns the wallet’s API key once',
  request: { body: body(z.object({ publicKey: B64u, phone: Phone, currency: Currency.optional() })) },
  responses: {
    201: json(z.object({ wallet: WalletSchema, apiKey: ApiKeyCreated }), 'registered'),
    ...errors,
  },
})

const getRoute = createRoute({
  method: 'get',
  path: '/v1/wallets/{walletId}',
  tags,
  security: secured,
  summary: 'One wallet (operator, or the wallet itself)',
  request: { params: WalletParam },
  responses: { 200: json(WalletSchema, 'the wallet'), ...errors },
})

const balanceRoute = createRoute({
  method: 'get',
  path: '/v1/wallets/{walletId}/balance',
  tags,
  security: secured,
  summary: 'Available balance and offline-purse escrow, minor units',
  request: { params: WalletParam },
  responses: { 200: json(BalanceSchema, 'the balance'), ...errors },
})

const creditRoute = createRoute({
  method: 'post',
  path: '/v1/wallets/{walletId}/credit',
  tags,
  security: secured,
  summary: 'Top up a wallet from card clearing (operator)',
  request: { params: WalletParam, body: body(z.object({ amount: Amount, ref: z.string().min(1).max(100) })) },
  responses: { 200: json(BalanceSchema, 'the new balance'), ...errors },
})

const loadPurseRoute = createRoute({
  method: 'post',
  path: '/v1/wallets/{walletId}/purses',
  tags,
  security: secured,
  summary: 'Load an offline purse: escrow the amount and get a wallet certificate (the wallet itself)',
  request: { params: WalletParam, body: body(PurseRequest) },
  responses: { 201: json(PurseSchema, 'the purse and its certificate'), ...errors },
})

const listPursesRoute = createRoute({
  method: 'get',
  path: '/v1/wallets/{walletId}/purses',
  tags,
  security: secured,
  summary: 'The wallet’s purses, newest first',
  request: { params: WalletParam },
  responses: { 200: json(z.object({ purses: z.array(PurseSchema) }), 'the purses'), ...errors },
})

const uploadLogRoute = createRoute({
  method: 'post',
  path: '/v1/wallets/{walletId}/log',
  tags,
  security: secured,
  summary: 'Upload the wallet’s signed payment log (the wallet itself); each token gets an outcome',
  request: { params: WalletParam, body: body(LogUpload) },
  responses: { 200: json(LogResult, 'per-token outcomes'), ...errors },
})

const historyRoute = createRoute({
  method: 'get',
  path: '/v1/wallets/{walletId}/history',
  tags,
  security: secured,
  summary: 'The wallet’s offline payments with statuses (held, confirmed, auto_approved, claimed, reversed)',
  request: {
    params: WalletParam,
    query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }),
  },
  responses: { 200: json(z.object({ payments: z.array(PaymentSchema) }), 'the history'), ...errors },
})

const freezeRoute = createRoute({
  method: 'post',
  path: '/v1/wallets/{walletId}/freeze',
  tags: ['operator'],
  security: secured,
  summary: 'Freeze a wallet: no new purses (operator)',
  request: { params: WalletParam, body: body(z.object({ reason: z.string().min(1).max(200) })) },
  responses: { 200: json(WalletSchema, 'the wallet'), ...errors },
})

const unfreezeRoute = createRoute({
  method: 'post',
  path: '/v1/wallets/{walletId}/unfreeze',
  tags: ['operator'],
  security: secured,
  summary: 'Unfreeze a wallet (operator)',
  request: { params: WalletParam },
  responses: { 200: json(WalletSchema, 'the wallet'), ...errors },
})

/** A wallet the principal may see: operator, or the wallet itself; anything else is 404. */
async function visibleWallet(q: Queryable, p: Principal, walletId: string): Promise<Wallet> {
  requireRole(p, 'operator', 'wallet')
  requireSubject(p, 'wallet', walletId)
  const w = await getWallet(q, p.tenantId, walletId)
  if (!w) throw new BridgeError('not_found', 'no such wallet')
  return w
}

/** Register the wallet routes. */
export function registerWalletRoutes(app: ApiApp, deps: ApiDeps): void {
  const { db } = deps

  const balanceOf = async (tenantId: string, w: Wallet) => {
    const b = await walletBalance(db, tenantId, w)
    return { currency: w.currency, available: Number(b.available), escrow: Number(b.escrow) }
  }

  app.openapi(registerRoute, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'operator')
    const input = c.req.valid('json')
    const tenantCurrency = (await getTenant(db, p.tenantId))!.currency
    const currency = input.currency ?? tenantCurrency
    // A tenant has one currency and so do its wallets: a wallet in another one could pay no invoice.
    if (currency !== tenantCurrency)
      throw new OnlineError('currency_mismatch', `the tenant is in ${tenantCurrency}, not ${currency}`)
    const { wallet, apiKey } = await registerWallet(db, p.tenantId, {
      publicKey: fromB64u(input.publicKey),
      phone: input.phone,
      currency,
    })
    return c.json({ wallet: walletView(wallet), apiKey: keyCreatedView(apiKey) }, 201)
  })

  app.openapi(getRoute, async (c) => {
    const w = await visibleWallet(db, c.get('principal'), c.req.valid('param').walletId)
    return c.json(walletView(w), 200)
  })

  app.openapi(balanceRoute, async (c) => {
    const p = c.get('principal')
    const w = await visibleWallet(db, p, c.req.valid('param').walletId)
    return c.json(await balanceOf(p.tenantId, w), 200)
  })

  app.openapi(creditRoute, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'operator')
    const w = await visibleWallet(db, p, c.req.valid('param').walletId)
    const { amount, ref } = c.req.valid('json')
    await creditWallet(db, p.tenantId, w.id, BigInt(amount), `credit:${ref}`)
    await audit(db, p, 'wallet.credited', w.id, { amount, ref })
    return c.json(await balanceOf(p.tenantId, w), 200)
  })

  app.openapi(loadPurseRoute, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'wallet')
    const w = await visibleWallet(db, p, c.req.valid('param').walletId)
    const r = c.req.valid('json')
    const purse = await loadPurse(
      db,
      deps.issuer,
      p.tenantId,
      w.id,
      {
        amount: BigInt(r.amount),
        ...(r.perPaymentLimit !== undefined ? { perPaymentLimit: BigInt(r.perPaymentLimit) } : {}),
        ...(r.ttlSeconds !== undefined ? { ttlSeconds: r.ttlSeconds } : {}),
      },
      { now: deps.now(), maxTtlSeconds: deps.purseTtlSeconds },
    )
    return c.json(purseView(purse), 201)
  })

  app.openapi(listPursesRoute, async (c) => {
    const p = c.get('principal')
    const w = await visibleWallet(db, p, c.req.valid('param').walletId)
    return c.json({ purses: (await listPurses(db, p.tenantId, w.id)).map(purseView) }, 200)
  })

  app.openapi(uploadLogRoute, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'wallet')
    const w = await visibleWallet(db, p, c.req.valid('param').walletId)
    const tokens = c.req.valid('json').tokens.map(fromB64u)
    const results = await deps.reconciler.uploadPayerLog(p.tenantId, w.id, tokens)
    return c.json({ results }, 200)
  })

  app.openapi(historyRoute, async (c) => {
    const p = c.get('principal')
    const w = await visibleWallet(db, p, c.req.valid('param').walletId)
    const list = await deps.reconciler.walletHistory(p.tenantId, w.id, { limit: c.req.valid('query').limit })
    return c.json({ payments: list.map(paymentView) }, 200)
  })

  app.openapi(freezeRoute, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'operator')
    const w = await setFrozen(db, p.tenantId, c.req.valid('param').walletId, true, c.req.valid('json').reason)
    return c.json(walletView(w), 200)
  })

  app.openapi(unfreezeRoute, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'operator')
    const w = await setFrozen(db, p.tenantId, c.req.valid('param').walletId, false, null)
    return c.json(walletView(w), 200)
  })
}
