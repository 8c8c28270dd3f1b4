/**
 * Merchants, their boxes (registration, node certificates) and the fleet view.
 */
import { createRoute, z } from '@hono/zod-openapi'
import { BridgeError } from '../../api/errors.js'
import type { Principal } from '../../auth/api-keys.js'
import { audit } from '../../auth/audit.js'
import { requireRole, requireSubject } from '../../auth/middleware.js'
import { certifyDevice, type Device, getDevice, listDevices, registerDevice } from '../../fleet/devices.js'
import { refusedCounts } from '../../refused/store.js'
import { createMerchant, getMerchant, listMerchants } from '../../tenants/tenants.js'
import type { ApiApp, ApiDeps } from '../app.js'
import type { Queryable } from '../ports.js'
import {
  ApiKeyCreated,
  DeviceRegistered,
  DeviceSchema,
  Id,
  MerchantSchema,
  NodeCertRequest,
  NodeCertResponse,
  PaymentSchema,
  Phone,
} from '../schemas.js'
import { deviceView, fromB64u, keyCreatedView, keyringView, merchantView, paymentView } from '../views.js'
import { body, errors, json, secured } from './helpers.js'

const MerchantParam = z.object({ merchantId: Id })
const DeviceParam = z.object({ deviceId: Id })

const createMerchantRoute = createRoute({
  method: 'post',
  path: '/v1/merchants',
  tags: ['merchants'],
  security: secured,
  summary: 'Create a merchant and its API key (operator)',
  request: { body: body(z.object({ name: z.string().min(1).max(100) })) },
  responses: {
    201: json(
      z.object({ merchant: MerchantSchema, apiKey: ApiKeyCreated }),
      'created; the key is shown once',
    ),
    ...errors,
  },
})

const listMerchantsRoute = createRoute({
  method: 'get',
  path: '/v1/merchants',
  tags: ['merchants'],
  security: secured,
  summary: 'List merchants (operator)',
  responses: { 200: json(z.object({ merchants: z.array(MerchantSchema) }), 'the merchants'), ...errors },
})

const getMerchantRoute = createRoute({
  method: 'get',
  path: '/v1/merchants/{merchantId}',
  tags: ['merchants'],
  security: secured,
  summary: 'One merchant (operator, or the merchant itself)',
  request: { params: MerchantParam },
  responses: { 200: json(MerchantSchema, 'the merchant'), ...errors },
})

const merchantPaymentsRoute = createRoute({
  method: 'get',
  path: '/v1/merchants/{merchantId}/payments',
  tags: ['merchants'],
  security: secured,
  summary: 'Offline payments received by a merchant, with their statuses',
  request: {
    params: MerchantParam,
    query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }),
  },
  responses: { 200: json(z.object({ payments: z.array(PaymentSchema) }), 'the payments'), ...errors },
})

const registerDeviceRoute = createRoute({
  method: 'post',
  path: '/v1/merchants/{merchantId}/devices',
  tags: ['devices'],
  security: secured,
  summary: 'Register a box; returns its device secret and API key once, for provisioning',
  request: { params: MerchantParam, body: body(z.object({ label: z.string().max(100).default('') })) },
  responses: { 201: json(DeviceRegistered, 'registered'), ...errors },
})

const getDeviceRoute = createRoute({
  method: 'get',
  path: '/v1/devices/{deviceId}',
  tags: ['devices'],
  security: secured,
  summary: 'One box (operator, its merchant, or the box itself)',
  request: { params: DeviceParam },
  responses: { 200: json(DeviceSchema, 'the box'), ...errors },
})

const certifyRoute = createRoute({
  method: 'post',
  path: '/v1/devices/{deviceId}/certificate',
  tags: ['devices'],
  security: secured,
  summary: 'Issue the box’s node certificate for its Ed25519 and X25519 public keys',
  request: { params: DeviceParam, body: body(NodeCertRequest) },
  responses: { 200: json(NodeCertResponse, 'the certificate and the issuer keyring'), ...errors },
})

const updateMerchantRoute = createRoute({
  method: 'patch',
  path: '/v1/merchants/{merchantId}',
  tags: ['merchants'],
  security: secured,
  summary:
    'Set the merchant phone (operator, or the merchant) and payout bank account reference (operator only; audited)',
  request: {
    params: MerchantParam,
    body: body(
      z
        .object({
          phone: Phone.nullable().optional(),
          bankAccountRef: z.string().min(1).max(100).nullable().optional(),
        })
        .refine((b) => b.phone !== undefined || b.bankAccountRef !== undefined, 'nothing to change'),
    ),
  },
  responses: { 200: json(MerchantSchema, 'the merchant'), ...errors },
})

const updateDeviceRoute = createRoute({
  method: 'patch',
  path: '/v1/devices/{deviceId}',
  tags: ['merchants'],
  security: secured,
  summary:
    'Set the box modem number, where OPG1 PAID SMS go while the box is offline (operator, merchant, the box)',
  request: { params: DeviceParam, body: body(z.object({ modemNumber: Phone.nullable() })) },
  responses: { 200: json(DeviceSchema, 'the device'), ...errors },
})

const fleetRoute = createRoute({
  method: 'get',
  path: '/v1/fleet',
  tags: ['devices'],
  security: secured,
  summary: 'Boxes with last seen and pending counts (operator: all; merchant: its own)',
  responses: {
    200: json(
      z.object({
        devices: z.array(DeviceSchema),
        refusedTokens: z
          .object({
            total: z.number().int(),
            walletLog: z.number().int(),
            byDevice: z.record(z.string(), z.number().int()),
          })
          .openapi({
            description: 'tokens the bridge refused: in all, from wallet logs, per box that sent them',
          }),
      }),
      'the fleet',
    ),
    ...errors,
  },
})

/** A box the principal may see: operator, its merchant, or the box itself; anything else is 404. */
async function visibleDevice(q: Queryable, p: Principal, deviceId: string): Promise<Device> {
  requireRole(p, 'operator', 'merchant', 'device')
  const d = await getDevice(q, p.tenantId, deviceId)
  if (!d) throw new BridgeError('not_found', 'no such device')
  requireSubject(p, 'merchant', d.merchantId)
  requireSubject(p, 'device', d.id)
  return d
}

/** Register the merchant, device and fleet routes. */
export function registerMerchantRoutes(app: ApiApp, deps: ApiDeps): void {
  const { db } = deps

  app.openapi(createMerchantRoute, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'operator')
    const { merchant, apiKey } = await createMerchant(db, p.tenantId, c.req.valid('json').name)
    return c.json({ merchant: merchantView(merchant), apiKey: keyCreatedView(apiKey) }, 201)
  })

  app.openapi(listMerchantsRoute, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'operator')
    return c.json({ merchants: (await listMerchants(db, p.tenantId)).map(merchantView) }, 200)
  })

  app.openapi(getMerchantRoute, async (c) => {
    const p = c.get('principal')
    const { merchantId } = c.req.valid('param')
    requireRole(p, 'operator', 'merchant')
    requireSubject(p, 'merchant', merchantId)
    const m = await getMerchant(db, p.tenantId, merchantId)
    if (!m) throw new BridgeError('not_found', 'no such merchant')
    return c.json(merchantView(m), 200)
  })

  app.openapi(updateMerchantRoute, async (c) => {
    const p = c.get('principal')
    const { merchantId } = c.req.valid('param')
    requireRole(p, 'operator', 'merchant')
    requireSubject(p, 'merchant', merchantId)
    const b = c.req.valid('json')
    // Where the merchant's money goes is the operator's decision: a stolen merchant key must not redirect
    // payouts. Every change is in the audit log (GET /v1/audit).
    if (b.bankAccountRef !== undefined) requireRole(p, 'operator')
    const before = await getMerchant(db, p.tenantId, merchantId)
    if (!before) throw new BridgeError('not_found', 'no such merchant')
    const r = await db.query(
      `UPDATE merchants SET phone = CASE WHEN $3 THEN $4 ELSE phone END,
         bank_account_ref = CASE WHEN $5 THEN $6 ELSE bank_account_ref END
       WHERE tenant_id = $1 AND id = $2`,
      [
        p.tenantId,
        merchantId,
        b.phone !== undefined,
        b.phone ?? null,
        b.bankAccountRef !== undefined,
        b.bankAccountRef ?? null,
      ],
    )
    if (r.rowCount === 0) throw new BridgeError('not_found', 'no such merchant')
    if (b.bankAccountRef !== undefined && b.bankAccountRef !== before.bankAccountRef) {
      await audit(db, p, 'merchant.bank_account_changed', merchantId, {
        from: before.bankAccountRef,
        to: b.bankAccountRef,
      })
    }
    return c.json(merchantView((await getMerchant(db, p.tenantId, merchantId))!), 200)
  })

  app.openapi(updateDeviceRoute, async (c) => {
    const p = c.get('principal')
    const d = await visibleDevice(db, p, c.req.valid('param').deviceId)
    await db.query('UPDATE devices SET modem_number = $3 WHERE tenant_id = $1 AND id = $2', [
      p.tenantId,
      d.id,
      c.req.valid('json').modemNumber,
    ])
    return c.json(deviceView((await getDevice(db, p.tenantId, d.id))!), 200)
  })

  app.openapi(merchantPaymentsRoute, async (c) => {
    const p = c.get('principal')
    const { merchantId } = c.req.valid('param')
    requireRole(p, 'operator', 'merchant')
    requireSubject(p, 'merchant', merchantId)
    if (!(await getMerchant(db, p.tenantId, merchantId)))
      throw new BridgeError('not_found', 'no such merchant')
    const list = await deps.reconciler.merchantPayments(p.tenantId, merchantId, {
      limit: c.req.valid('query').limit,
    })
    return c.json({ payments: list.map(paymentView) }, 200)
  })

  app.openapi(registerDeviceRoute, async (c) => {
    const p = c.get('principal')
    const { merchantId } = c.req.valid('param')
    requireRole(p, 'operator', 'merchant')
    requireSubject(p, 'merchant', merchantId)
    const r = await registerDevice(db, deps.sealer, p.tenantId, merchantId, c.req.valid('json').label)
    return c.json(
      {
        device: deviceView(r.device),
        deviceSecret: Buffer.from(r.deviceSecret).toString('hex'),
        apiKey: keyCreatedView(r.apiKey),
      },
      201,
    )
  })

  app.openapi(getDeviceRoute, async (c) => {
    const d = await visibleDevice(db, c.get('principal'), c.req.valid('param').deviceId)
    return c.json(deviceView(d), 200)
  })

  app.openapi(certifyRoute, async (c) => {
    const p = c.get('principal')
    const d = await visibleDevice(db, p, c.req.valid('param').deviceId)
    const keys = c.req.valid('json')
    const r = await certifyDevice(
      db,
      deps.issuer,
      p.tenantId,
      d.id,
      { signingKey: fromB64u(keys.signingKey), encryptionKey: fromB64u(keys.encryptionKey) },
      { now: deps.now(), ttlSeconds: deps.nodeCertTtlSeconds },
    )
    return c.json(
      {
        certificate: Buffer.from(r.certificate).toString('base64url'),
        issuerKeyId: r.issuerKeyId,
        expiresAt: r.expiresAt.toISOString(),
        issuerKeys: keyringView(r.keyring),
      },
      200,
    )
  })

  app.openapi(fleetRoute, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'operator', 'merchant')
    const list = await listDevices(db, p.tenantId, p.role === 'merchant' ? p.subjectId! : undefined)
    const merchantId = p.role === 'merchant' ? p.subjectId! : undefined
    const refusedTokens = await refusedCounts(db, p.tenantId, merchantId)
    return c.json({ devices: list.map(deviceView), refusedTokens }, 200)
  })
}
