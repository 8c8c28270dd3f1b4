/**
 * The operator's list of refused tokens: every token the bridge refused, from a box batch or a wallet log, with
 * its reason, raw bytes and — for a double spend — the token it conflicts with, plus what the escrow rule has
 * paid the merchant for it. Operator keys only; always scoped to the key's tenant.
 */
import { createRoute, z } from '@hono/zod-openapi'
import { requireRole } from '../../auth/middleware.js'
import { listRefused } from '../../refused/store.js'
import type { ApiApp, ApiDeps } from '../app.js'
import { Id } from '../schemas.js'
import { b64u } from '../views.js'
import { errors, json, secured } from './helpers.js'

const RefusedTokenSchema = z
  .object({
    id: z.string(),
    txId: z.string().nullable(),
    walletId: z.string().nullable(),
    merchantId: z.string().nullable(),
    deviceId: z.string().nullable(),
    amountMinor: z.number().int().nullable(),
    currency: z.string().nullable(),
    reason: z
      .string()
      .openapi({ description: 'protocol error code, or wrong_wallet/wrong_merchant/wrong_device' }),
    source: z.enum(['box', 'wallet_log']),
    receivedAt: z.string().openapi({ format: 'date-time' }),
    tokenB64: z.string().openapi({ description: 'the token bytes as received, base64url' }),
    proofOf: z.string().optional().openapi({ description: 'tx id of the honoured token it conflicts with' }),
    /** Whether the wallet's signature and certificate verified (the wallet did sign it). */
    valid: z.boolean(),
    settlement: z.object({
      state: z.enum(['none', 'awaiting_box', 'pending', 'paid', 'unfunded']),
      paidEscrow: z.number().int(),
      paidWallet: z.number().int(),
      unfunded: z.number().int(),
    }),
  })
  .openapi('RefusedToken')

const listRoute = createRoute({
  method: 'get',
  path: '/v1/refused-tokens',
  tags: ['reconciliation'],
  security: secured,
  summary: 'Tokens the bridge refused, newest first, with reason, bytes and proof (operator)',
  request: {
    query: z.object({
      reason: z.string().max(40).optional(),
      merchantId: Id.optional(),
      deviceId: Id.optional(),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    }),
  },
  responses: { 200: json(z.object({ items: z.array(RefusedTokenSchema) }), 'the refused tokens'), ...errors },
})

/** Register GET /v1/refused-tokens. */
export function registerRefusedRoutes(app: ApiApp, deps: ApiDeps): void {
  app.openapi(listRoute, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'operator')
    const q = c.req.valid('query')
    const rows = await listRefused(deps.db, p.tenantId, {
      limit: q.limit,
      ...(q.reason !== undefined ? { reason: q.reason } : {}),
      ...(q.merchantId !== undefined ? { merchantId: q.merchantId } : {}),
      ...(q.deviceId !== undefined ? { deviceId: q.deviceId } : {}),
    })
    const items = rows.map((r) => ({
      id: r.id,
      txId: r.txId,
      walletId: r.walletId,
      merchantId: r.merchantId,
      deviceId: r.deviceId,
      amountMinor: r.amount,
      currency: r.currency,
      reason: r.reason,
      source: r.source,
      receivedAt: new Date(r.receivedAt).toISOString(),
      tokenB64: b64u(r.token),
      ...(r.proofOf !== null ? { proofOf: r.proofOf } : {}),
      valid: r.valid,
      settlement: {
        state: r.settleState,
        paidEscrow: r.paidEscrow,
        paidWallet: r.paidWallet,
        unfunded: r.unfunded,
      },
    }))
    return c.json({ items }, 200)
  })
}
