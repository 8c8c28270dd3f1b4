/**
 * Read-only lists for the operator's command line (`opg-bridge payments`, `holds`, `sms`): the tenant's
 * offline payments filtered by status, merchant or box, and the SMS outbox with its delivery state. Operator
 * keys only; every query leads with the key's own tenant id, so nothing of another tenant can be listed.
 */
import { createRoute, z } from '@hono/zod-openapi'
import { requireRole } from '../../auth/middleware.js'
import type { ApiApp, ApiDeps } from '../app.js'
import { Id, PaymentSchema, PaymentStatusSchema } from '../schemas.js'
import { paymentView } from '../views.js'
import { errors, json, secured } from './helpers.js'

const tags = ['operator']
const Limit = z.coerce.number().int().min(1).max(500).default(100)

const paymentsRoute = createRoute({
  method: 'get',
  path: '/v1/payments',
  tags,
  security: secured,
  summary:
    "The tenant's offline payments, newest first; with status=held, soonest auto-approval first (operator)",
  request: {
    query: z.object({
      status: PaymentStatusSchema.optional(),
      merchantId: Id.optional(),
      deviceId: Id.optional(),
      limit: Limit,
    }),
  },
  responses: { 200: json(z.object({ payments: z.array(PaymentSchema) }), 'the payments'), ...errors },
})

export const OutboxSmsSchema = z
  .object({
    id: z.string(),
    to: z.string(),
    body: z.string(),
    status: z.enum(['pending', 'sent', 'failed']),
    attempts: z.number().int(),
    lastError: z.string().nullable(),
    createdAt: z.string(),
    sentAt: z.string().nullable(),
  })
  .openapi('OutboxSms')

const smsOutboxRoute = createRoute({
  method: 'get',
  path: '/v1/sms',
  tags,
  security: secured,
  summary: 'The SMS outbox with each message’s delivery state, newest first (operator)',
  request: { query: z.object({ status: z.enum(['pending', 'sent', 'failed']).optional(), limit: Limit }) },
  responses: { 200: json(z.object({ messages: z.array(OutboxSmsSchema) }), 'the messages'), ...errors },
})

interface OutboxRow {
  id: string
  to_number: string
  body: string
  status: 'pending' | 'sent' | 'failed'
  attempts: number
  last_error: string | null
  created_at: Date | string
  sent_at: Date | string | null
}

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString())

/** Register the operator's list routes. */
export function registerOperatorListRoutes(app: ApiApp, deps: ApiDeps): void {
  app.openapi(paymentsRoute, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'operator')
    const q = c.req.valid('query')
    const list = await deps.reconciler.tenantPayments(p.tenantId, q)
    return c.json({ payments: list.map(paymentView) }, 200)
  })

  app.openapi(smsOutboxRoute, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'operator')
    const { status, limit } = c.req.valid('query')
    const r = await deps.db.query<OutboxRow>(
      `SELECT id, to_number, body, status, attempts, last_error, created_at, sent_at FROM sms_outbox
        WHERE tenant_id = $1 AND ($2::text IS NULL OR status = $2) ORDER BY created_at DESC, id LIMIT $3`,
      [p.tenantId, status ?? null, limit],
    )
    const messages = r.rows.map((m) => ({
      id: String(m.id),
      to: m.to_number,
      body: m.body,
      status: m.status,
      attempts: Number(m.attempts),
      lastError: m.last_error,
      createdAt: iso(m.created_at)!,
      sentAt: iso(m.sent_at),
    }))
    return c.json({ messages }, 200)
  })
}
