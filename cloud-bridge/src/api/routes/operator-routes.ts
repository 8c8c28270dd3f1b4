/**
 * Operator actions that stop things: revoke a box, suspend the tenant (the audit log is GET /v1/audit). Operator keys
 * only; each action is idempotent (a repeat answers 200 with `changed: false` and the original time) and
 * audited with the acting key's id (fleet/operator-actions.ts).
 */
import { createRoute, z } from '@hono/zod-openapi'
import { ConfigOverrideSchema } from '@opg/protocol'
import type { Principal } from '../../auth/api-keys.js'
import { requireRole } from '../../auth/middleware.js'
import { commandBox, type OperatorCommand } from '../../fleet/box-command-actions.js'
import { revokeDevice, setTenantStatus } from '../../fleet/operator-actions.js'
import type { ApiApp, ApiDeps } from '../app.js'
import { BridgeError } from '../errors.js'
import { Id } from '../schemas.js'
import { body, errors, json, secured } from './helpers.js'

const tags = ['operator']
const Iso = z.string().openapi({ format: 'date-time' })
const Reason = z.object({ reason: z.string().trim().min(1).max(500).optional() })

const revokeDeviceRoute = createRoute({
  method: 'post',
  path: '/v1/devices/{deviceId}/revoke',
  tags,
  security: secured,
  summary: 'Revoke a box (operator): its batches are refused at ingest and kept, its device keys stop',
  request: { params: z.object({ deviceId: Id }), body: body(Reason) },
  responses: {
    200: json(
      z.object({
        deviceId: Id,
        revoked: z.literal(true),
        revokedAt: Iso,
        reason: z.string().nullable(),
        changed: z.boolean(),
      }),
      'revoked (changed: false when it already was)',
    ),
    ...errors,
  },
})

const CommandResult = z.object({
  deviceId: Id,
  type: z.enum(['sync_now', 'config']),
  sent: z.boolean(),
  online: z.boolean().openapi({ description: 'false: the box applies it when it reconnects' }),
  config: z.record(z.string(), z.unknown()).optional().openapi({
    description: 'for config: the whole override now set for the box, which the command carried',
  }),
})

const syncNowRoute = createRoute({
  method: 'post',
  path: '/v1/devices/{deviceId}/sync-now',
  tags,
  security: secured,
  summary: 'Ask a box to publish its pending payments and status now (operator)',
  request: { params: z.object({ deviceId: Id }) },
  responses: { 202: json(CommandResult, 'the sealed command was sent'), ...errors },
})

const configRoute = createRoute({
  method: 'post',
  path: '/v1/devices/{deviceId}/config',
  tags,
  security: secured,
  summary:
    'Override part of a box’s config (exposure limits, sync pacing, log level); applied at its next start',
  request: { params: z.object({ deviceId: Id }), body: body(z.object({ config: ConfigOverrideSchema })) },
  responses: { 202: json(CommandResult, 'the sealed command was sent'), ...errors },
})

const suspendTenantRoute = createRoute({
  method: 'post',
  path: '/v1/tenant/suspend',
  tags,
  security: secured,
  summary: 'Suspend the tenant (operator): every key stops at once; the platform resumes it',
  request: { body: body(Reason) },
  responses: {
    200: json(
      z.object({ status: z.literal('suspended'), suspendedAt: Iso, changed: z.boolean() }),
      'suspended',
    ),
    ...errors,
  },
})

/** Register the operator action routes. */
export function registerOperatorRoutes(app: ApiApp, deps: ApiDeps): void {
  const { db } = deps

  app.openapi(revokeDeviceRoute, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'operator')
    const { deviceId } = c.req.valid('param')
    const { reason } = c.req.valid('json')
    const r = await revokeDevice(db, p.tenantId, deviceId, {
      actor: p.keyId,
      reason: reason ?? null,
      now: deps.now(),
    })
    return c.json(
      {
        deviceId,
        revoked: true as const,
        revokedAt: r.revokedAt.toISOString(),
        reason: r.reason,
        changed: r.changed,
      },
      200,
    )
  })

  /** An operator's command to one box of the principal's tenant (fleet/box-command-actions.ts). */
  const command = (p: Principal, deviceId: string, cmd: OperatorCommand) => {
    requireRole(p, 'operator')
    if (!deps.boxCommands) throw new BridgeError('not_configured', 'no box command link')
    return commandBox(db, deps.boxCommands, p.tenantId, deviceId, cmd, { actor: p.keyId, now: deps.now() })
  }

  app.openapi(syncNowRoute, async (c) =>
    c.json(await command(c.get('principal'), c.req.valid('param').deviceId, { type: 'sync_now' }), 202),
  )

  app.openapi(configRoute, async (c) => {
    const { config } = c.req.valid('json')
    return c.json(
      await command(c.get('principal'), c.req.valid('param').deviceId, { type: 'config', config }),
      202,
    )
  })

  app.openapi(suspendTenantRoute, async (c) => {
    const p = c.get('principal')
    requireRole(p, 'operator')
    const { reason } = c.req.valid('json')
    const r = await setTenantStatus(db, p.tenantId, 'suspended', {
      actor: p.keyId,
      reason: reason ?? null,
      now: deps.now(),
    })
    return c.json(
      {
        status: 'suspended' as const,
        suspendedAt: (r.suspendedAt ?? deps.now()).toISOString(),
        changed: r.changed,
      },
      200,
    )
  })
}
