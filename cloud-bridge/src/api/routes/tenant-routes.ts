/**
 * Routes about the caller's tenant: who am I, the issuer keyring, and API key management (operators).
 */
import { createRoute, z } from '@hono/zod-openapi'
import { BridgeError } from '../../api/errors.js'
import { createApiKey, listApiKeys, revokeApiKey } from '../../auth/api-keys.js'
import { requireRole } from '../../auth/middleware.js'
import { getDevice } from '../../fleet/devices.js'
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
      z.object({ role: RoleSchema, subjectId: Id.optional(), label: z.string().max(100).default('') }),
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
    const { role, subjectId, label } = c.req.valid('json')
    if (role === 'operator') {
      if (subjectId !== undefined) throw new BridgeError('invalid_request', 'operator keys have no subject')
      return c.json(keyCreatedView(await createApiKey(db, p.tenantId, 'operator', null, label)), 201)
    }
    if (subjectId === undefined) throw new BridgeError('invalid_request', `${role} keys need a subjectId`)
    const exists =
      role === 'merchant'
        ? await getMerchant(db, p.tenantId, subjectId)
        : role === 'wallet'
          ? await getWallet(db, p.tenantId, subjectId)
          : await getDevice(db, p.tenantId, subjectId)
    if (!exists) throw new BridgeError('not_found', `no such ${role}`)
    return c.json(keyCreatedView(await createApiKey(db, p.tenantId, role, subjectId, label)), 201)
  })

  app.openapi(revokeKeyRoute, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'operator')
    const { keyId } = c.req.valid('param')
    if (!(await revokeApiKey(db, p.tenantId, keyId))) throw new BridgeError('not_found', 'no such key')
    return c.json({ revoked: true as const }, 200)
  })
}
