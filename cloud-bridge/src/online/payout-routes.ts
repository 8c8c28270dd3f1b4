/**
 * HTTP routes of settlement: payout batches (build on demand, list, payout file, mark paid), the tenant's
 * payout schedule, and the merchant's own view of what is held, reserved, released and paid.
 */
import { createRoute, z } from '@hono/zod-openapi'
import type { ApiApp } from '../api/app.js'
import { body, errors, json, secured } from '../api/routes/helpers.js'
import { Currency, Id } from '../api/schemas.js'
import { requireRole, requireSubject } from '../auth/middleware.js'
import type { Db } from '../db/types.js'
import { OnlineError } from './errors.js'
import { buildPayout } from './payout-build.js'
import { payoutFile } from './payout-file.js'
import { getSchedule, setSchedule } from './payout-schedule.js'
import { getPayout, listPayouts, markPayoutPaid, type Payout } from './payouts.js'
import { merchantSettlement } from './settlement-view.js'

const Minor = z.number().int().openapi({ description: 'minor units' })

const PayoutSchema = z.object({
  id: Id,
  batchKey: z.string().nullable(),
  testMode: z.boolean().openapi({ description: 'a batch of sandbox (test) money: never sent to a bank' }),
  currency: Currency,
  status: z.enum(['built', 'paid']),
  createdAt: z.string(),
  paidAt: z.string().nullable(),
  lines: z.array(
    z.object({
      merchantId: Id,
      amount: Minor,
      bankAccountRef: z.string().nullable(),
      paymentIds: z.array(Id),
      invoiceAmount: Minor,
      walletAmount: Minor,
      heldAmount: Minor,
      reservedAmount: Minor,
    }),
  ),
})

const ScheduleSchema = z.object({
  frequency: z.enum(['daily', 'weekly', 'manual']),
  runHour: z.number().int().min(0).max(23),
  timeZone: z.string().max(64).nullable().openapi({ example: 'Europe/Berlin' }),
})

const SettlementSchema = z.object({
  merchantId: Id,
  balances: z.array(
    z.object({
      currency: Currency,
      held: Minor,
      reserved: Minor,
      released: Minor,
      awaitingBank: Minor,
      paid: Minor,
      nextReleaseAt: z.string().nullable(),
    }),
  ),
  batches: z.array(
    z.object({
      payoutId: Id,
      batchKey: z.string().nullable(),
      currency: Currency,
      status: z.enum(['built', 'paid']),
      createdAt: z.string(),
      paidAt: z.string().nullable(),
      amount: Minor,
      invoiceAmount: Minor,
      walletAmount: Minor,
      heldAmount: Minor,
      reservedAmount: Minor,
    }),
  ),
})

const n = (v: bigint) => Number(v)
const iso = (d: Date | null) => d?.toISOString() ?? null

const payoutView = (p: Payout) => ({
  ...p,
  createdAt: p.createdAt.toISOString(),
  paidAt: iso(p.paidAt),
  lines: p.lines.map((l) => ({
    ...l,
    amount: n(l.amount),
    invoiceAmount: n(l.invoiceAmount),
    walletAmount: n(l.walletAmount),
    heldAmount: n(l.heldAmount),
    reservedAmount: n(l.reservedAmount),
  })),
})

const PayoutParam = z.object({ payoutId: Id })

const routes = {
  buildPayout: createRoute({
    method: 'post',
    path: '/v1/payouts',
    tags: ['operator'],
    security: secured,
    summary:
      'Build a payout batch now (operator): invoice money and released offline/QR money, one line per merchant. ' +
      'Repeating an idempotencyKey returns the batch it built.',
    request: {
      body: body(z.object({ currency: Currency, idempotencyKey: z.string().min(8).max(100).optional() })),
    },
    responses: {
      201: json(PayoutSchema, 'the batch'),
      204: { description: 'nothing to pay out' },
      ...errors,
    },
  }),
  listPayouts: createRoute({
    method: 'get',
    path: '/v1/payouts',
    tags: ['operator'],
    security: secured,
    summary: 'Payout batches (operator)',
    responses: { 200: json(z.object({ payouts: z.array(PayoutSchema) }), 'the batches'), ...errors },
  }),
  payoutFile: createRoute({
    method: 'get',
    path: '/v1/payouts/{payoutId}/file',
    tags: ['operator'],
    security: secured,
    summary: 'The payout file of a batch (operator): CSV, amounts as decimal money and as minor units',
    request: { params: PayoutParam },
    responses: {
      200: { content: { 'text/csv': { schema: z.string() } }, description: 'the payout file' },
      ...errors,
    },
  }),
  markPaid: createRoute({
    method: 'post',
    path: '/v1/payouts/{payoutId}/paid',
    tags: ['operator'],
    security: secured,
    summary: 'The bank confirmed a batch: settle it (operator; idempotent)',
    request: { params: PayoutParam },
    responses: { 200: json(PayoutSchema, 'the batch'), ...errors },
  }),
  getSchedule: createRoute({
    method: 'get',
    path: '/v1/payout-schedule',
    tags: ['operator'],
    security: secured,
    summary: 'The tenant’s payout schedule and time zone (operator)',
    responses: { 200: json(ScheduleSchema, 'the schedule'), ...errors },
  }),
  setSchedule: createRoute({
    method: 'put',
    path: '/v1/payout-schedule',
    tags: ['operator'],
    security: secured,
    summary:
      'Set the payout schedule (daily by default, weekly, or manual) and the tenant’s time zone (operator)',
    request: { body: body(ScheduleSchema) },
    responses: { 200: json(ScheduleSchema, 'the schedule'), ...errors },
  }),
  settlement: createRoute({
    method: 'get',
    path: '/v1/merchants/{merchantId}/settlement',
    tags: ['merchants'],
    security: secured,
    summary:
      'What a merchant has held, reserved (claim window), released, awaiting the bank and paid, and each batch ' +
      '(the merchant itself, or an operator)',
    request: {
      params: z.object({ merchantId: Id }),
      query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }),
    },
    responses: { 200: json(SettlementSchema, 'the settlement'), ...errors },
  }),
}

/** Register the settlement routes. */
export function registerPayoutRoutes(
  app: ApiApp,
  deps: { db: Db; now: () => Date; testMode: boolean },
): void {
  const { db } = deps

  app.openapi(routes.buildPayout, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'operator')
    const { currency, idempotencyKey } = c.req.valid('json')
    const out = await buildPayout(db, p.tenantId, currency, {
      testMode: deps.testMode,
      ...(idempotencyKey ? { key: `manual:${idempotencyKey}` } : {}),
    })
    if (!out) return c.body(null, 204)
    return c.json(payoutView(out), 201)
  })

  app.openapi(routes.listPayouts, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'operator')
    return c.json({ payouts: (await listPayouts(db, p.tenantId)).map(payoutView) }, 200)
  })

  app.openapi(routes.payoutFile, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'operator')
    const { payoutId } = c.req.valid('param')
    const csv = await payoutFile(db, p.tenantId, payoutId)
    return c.body(csv, 200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="payout-${payoutId}.csv"`,
    })
  })

  app.openapi(routes.markPaid, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'operator')
    const { payoutId } = c.req.valid('param')
    await getPayout(db, p.tenantId, payoutId)
    return c.json(payoutView(await markPayoutPaid(db, p.tenantId, payoutId, deps.now())), 200)
  })

  app.openapi(routes.getSchedule, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'operator')
    return c.json(await getSchedule(db, p.tenantId), 200)
  })

  app.openapi(routes.setSchedule, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'operator')
    return c.json(await setSchedule(db, p.tenantId, c.req.valid('json')), 200)
  })

  app.openapi(routes.settlement, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'operator', 'merchant')
    const { merchantId } = c.req.valid('param')
    requireSubject(p, 'merchant', merchantId)
    const m = await db.query('SELECT 1 FROM merchants WHERE tenant_id = $1 AND id = $2', [
      p.tenantId,
      merchantId,
    ])
    if (m.rows.length === 0) throw new OnlineError('unknown_party', 'no such merchant')
    const s = await merchantSettlement(db, p.tenantId, merchantId, c.req.valid('query'))
    return c.json(
      {
        merchantId: s.merchantId,
        balances: s.balances.map((b) => ({
          currency: b.currency,
          held: n(b.held),
          reserved: n(b.reserved),
          released: n(b.released),
          awaitingBank: n(b.awaitingBank),
          paid: n(b.paid),
          nextReleaseAt: iso(b.nextReleaseAt),
        })),
        batches: s.batches.map((b) => ({
          ...b,
          createdAt: b.createdAt.toISOString(),
          paidAt: iso(b.paidAt),
          amount: n(b.amount),
          invoiceAmount: n(b.invoiceAmount),
          walletAmount: n(b.walletAmount),
          heldAmount: n(b.heldAmount),
          reservedAmount: n(b.reservedAmount),
        })),
      },
      200,
    )
  })
}
