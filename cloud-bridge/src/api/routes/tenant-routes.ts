/**
 * Routes about the caller's tenant: who am I, the issuer keyring, and API key management (operators).
 */
import { createRoute, z } from '@hono/zod-openapi'
import { BridgeError } from '../../api/errors.js'
import { createApiKey, listApiKeys, revokeApiKey, rotateApiKey } from '../../auth/api-keys.js'
import { audit, listAudit } from '../../auth/audit.js'
import { requireRole } from '../../auth/middleware.js'
import { getDevice } from '../../fleet/devices.js'
import { setTopupLimits, topupLimits } from '../../online/limits.js'
import { getMerchant, getTenant } from '../../tenants/tenants.js'
import { getWallet } from '../../wallets/wallets.js'
import type { ApiApp, ApiDeps } from '../app.js'
import { ApiKeyCreated, Id, IssuerKeysSchema, KeyInfoSchema, RoleSchema, TenantSchema } from '../schemas.js'
import { keyCreatedView, keyInfoView, keyringView } from '../views.js'
import { body, errors, json, secured } from './helpers.js'

const tags = ['tenant']

const getTenantRoute = createRoute({
  method: 'get',
  path: '/v1/tenant',
  tags,
  security: secured,
  summary: 'The tenant of the calling key, and the key’s role',
  responses: {
    200: json(TenantSchema.extend({ role: RoleSchema, subjectId: Id.nullable() }), 'the tenant'),
    ...errors,
  },
})

const issuerKeysRoute = createRoute({
  method: 'get',
  path: '/v1/issuer/keys',
  tags,
  security: secured,
  summary: 'The tenant’s issuer public keys by key id (old keys stay until their certificates expire)',
  responses: { 200: json(IssuerKeysSchema, 'the keyring'), ...errors },
})

const listKeysRoute = createRoute({
  method: 'get',
  path: '/v1/keys',
  tags,
  security: secured,
  summary: 'List the tenant’s API keys (operator)',
  responses: { 200: json(z.object({ keys: z.array(KeyInfoSchema) }), 'the keys'), ...errors },
})

const createKeyRoute = createRoute({
  method: 'post',
  path: '/v1/keys',
  tags,
  security: secured,
  summary: 'Create an API key (operator); non-operator keys name their merchant, wallet or device',
  request: {
    body: body(
      z.object({
        role: RoleSchema,
        subjectId: Id.optional(),
        label: z.string().max(100).default(''),
        expiresInSeconds: z
          .number()
          .int()
          .min(60)
          .max(5 * 366 * 86400)
          .optional()
          .openapi({ description: 'the key stops working after this; absent: no expiry' }),
      }),
    ),
  },
  responses: { 201: json(ApiKeyCreated, 'the new key, shown once'), ...errors },
})

const revokeKeyRoute = createRoute({
  method: 'delete',
  path: '/v1/keys/{keyId}',
  tags,
  security: secured,
  summary: 'Revoke an API key (operator)',
  request: { params: z.object({ keyId: Id }) },
  responses: { 200: json(z.object({ revoked: z.literal(true) }), 'revoked'), ...errors },
})

const rotateKeyRoute = createRoute({
  method: 'post',
  path: '/v1/keys/{keyId}/rotate',
  tags,
  security: secured,
  summary:
    'Give a key a new secret; the old one works for graceSeconds more (operator: any key; any key: itself)',
  request: {
    params: z.object({ keyId: Id }),
    body: body(
      z.object({
        graceSeconds: z
          .number()
          .int()
          .min(0)
          .max(30 * 86400)
          .default(86400),
      }),
    ),
  },
  responses: { 200: json(ApiKeyCreated, 'the key with its new secret, shown once'), ...errors },
})

const auditRoute = createRoute({
  method: 'get',
  path: '/v1/audit',
  tags,
  security: secured,
  summary: 'The audit log: bank account, key and limit changes, newest first (operator)',
  request: { query: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }) },
  responses: {
    200: json(
      z.object({
        entries: z.array(
          z.object({
            id: z.number().int(),
            at: z.string(),
            actorKeyId: Id.nullable(),
            actorRole: z.string(),
            action: z.string(),
            subjectId: z.string().nullable(),
            detail: z.record(z.string(), z.unknown()),
          }),
        ),
      }),
      'the entries',
    ),
    ...errors,
  },
})

const DailyLimit = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
const LimitsSchema = z.object({
  topupPerWalletDaily: DailyLimit.openapi({ description: 'minor units per wallet per rolling 24 h' }),
  topupPerTenantDaily: DailyLimit.openapi({ description: 'minor units per tenant per rolling 24 h' }),
})
const getLimitsRoute = createRoute({
  method: 'get',
  path: '/v1/tenant/limits',
  tags,
  security: secured,
  summary: 'Daily top-up limits in force (operator)',
  responses: { 200: json(LimitsSchema, 'the limits'), ...errors },
})
const putLimitsRoute = createRoute({
  method: 'put',
  path: '/v1/tenant/limits',
  tags,
  security: secured,
  summary: 'Set the tenant’s daily top-up limits; null returns to the bridge default (operator)',
  request: {
    body: body(
      z.object({ topupPerWalletDaily: DailyLimit.nullable(), topupPerTenantDaily: DailyLimit.nullable() }),
    ),
  },
  responses: { 200: json(LimitsSchema, 'the limits now in force'), ...errors },
})

/** Register the tenant routes. */
export function registerTenantRoutes(app: ApiApp, deps: ApiDeps): void {
  const { db } = deps

  app.openapi(getTenantRoute, async (c) => {
    const p = c.get('principal')
    const t = await getTenant(db, p.tenantId)
    if (!t) throw new BridgeError('not_found', 'tenant gone')
    return c.json({ id: t.id, name: t.name, currency: t.currency, role: p.role, subjectId: p.subjectId }, 200)
  })

  app.openapi(issuerKeysRoute, async (c) => {
    const p = c.get('principal')
    return c.json({ keys: keyringView(await deps.issuer.keyring(p.tenantId)) }, 200)
  })

  app.openapi(listKeysRoute, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'operator')
    return c.json({ keys: (await listApiKeys(db, p.tenantId)).map(keyInfoView) }, 200)
  })

  app.openapi(createKeyRoute, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'operator')
    const { role, subjectId, label, expiresInSeconds } = c.req.valid('json')
    const opts = expiresInSeconds === undefined ? {} : { expiresInSeconds }
    if (role === 'operator') {
      if (subjectId !== undefined) throw new BridgeError('invalid_request', 'operator keys have no subject')
      const k = await createApiKey(db, p.tenantId, 'operator', null, label, opts)
      await audit(db, p, 'key.created', k.id, { role, expiresInSeconds: expiresInSeconds ?? null })
      return c.json(keyCreatedView(k), 201)
    }
    if (subjectId === undefined) throw new BridgeError('invalid_request', `${role} keys need a subjectId`)
    const exists =
      role === 'merchant'
        ? await getMerchant(db, p.tenantId, subjectId)
        : role === 'wallet'
          ? await getWallet(db, p.tenantId, subjectId)
          : await getDevice(db, p.tenantId, subjectId)
    if (!exists) throw new BridgeError('not_found', `no such ${role}`)
    const k = await createApiKey(db, p.tenantId, role, subjectId, label, opts)
    await audit(db, p, 'key.created', k.id, { role, subjectId, expiresInSeconds: expiresInSeconds ?? null })
    return c.json(keyCreatedView(k), 201)
  })

  app.openapi(rotateKeyRoute, async (c) => {
    const p = c.get('principal')
    const { keyId } = c.req.valid('param')
    // Any key may rotate itself (a box or app renews its own secret); only an operator rotates another.
    if (keyId !== p.keyId) requireRole(p, 'operator')
    const { graceSeconds } = c.req.valid('json')
    const k = await rotateApiKey(db, p.tenantId, keyId, graceSeconds)
    if (!k) throw new BridgeError('not_found', 'no such key')
    await audit(db, p, 'key.rotated', keyId, { graceSeconds })
    return c.json(keyCreatedView(k), 200)
  })

  app.openapi(auditRoute, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'operator')
    const entries = await listAudit(db, p.tenantId, c.req.valid('query').limit)
    return c.json({ entries: entries.map((e) => ({ ...e, at: e.at.toISOString() })) }, 200)
  })

  const limitsView = async (tenantId: string) => {
    const l = await topupLimits(db, tenantId, deps.topupLimits)
    return { topupPerWalletDaily: Number(l.perWalletDaily), topupPerTenantDaily: Number(l.perTenantDaily) }
  }
  app.openapi(getLimitsRoute, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'operator')
    return c.json(await limitsView(p.tenantId), 200)
  })
  app.openapi(putLimitsRoute, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'operator')
    const b = c.req.valid('json')
    const big = (n: number | null) => (n === null ? null : BigInt(n))
    await setTopupLimits(db, p.tenantId, {
      perWalletDaily: big(b.topupPerWalletDaily),
      perTenantDaily: big(b.topupPerTenantDaily),
    })
    await audit(db, p, 'limits.set', p.tenantId, b)
    return c.json(await limitsView(p.tenantId), 200)
  })

  app.openapi(revokeKeyRoute, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'operator')
    const { keyId } = c.req.valid('param')
    if (!(await revokeApiKey(db, p.tenantId, keyId))) throw new BridgeError('not_found', 'no such key')
    await audit(db, p, 'key.revoked', keyId)
    return c.json({ revoked: true as const }, 200)
  })
}
