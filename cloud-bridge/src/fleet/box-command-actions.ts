/**
 * An operator's commands to one box — "sync now" and a config override — from the API or the console. The box
 * must be the tenant's (`not_found` otherwise, as for another tenant's box) and not revoked (`device_revoked`).
 * The command is sealed with the device's next `seq` and published at QoS 1 to the box's persistent session, so
 * a box that is offline gets it when it reconnects; the answer says whether the box was online. A config
 * override is kept per box and accumulated field by field: each `config` command carries the whole of it, so
 * the newest command the box applies is the whole truth. Each request is written to the audit log.
 */
import { type ConfigOverride, ConfigOverrideSchema, mergeConfigOverride } from '@opg/protocol'
import { BridgeError } from '../api/errors.js'
import type { Database } from '../api/ports.js'
import { type Actor, audit } from './operator-actions.js'

/** What the bridge's BoxCommands offers for operator commands. */
export interface OperatorCommandPort {
  sendSyncNow(tenantId: string, deviceId: string): Promise<boolean>
  sendConfig(tenantId: string, deviceId: string, config: ConfigOverride): Promise<boolean>
}

export type OperatorCommand = { type: 'sync_now' } | { type: 'config'; config: ConfigOverride }

export interface CommandResult {
  deviceId: string
  type: OperatorCommand['type']
  /** The sealed command was handed to the broker. */
  sent: boolean
  /** The box was online when it was sent (otherwise it applies it after reconnecting). */
  online: boolean
  /** For `config`: the whole override now set for the box (what the command carried). */
  config?: ConfigOverride
}

/** Send one operator command to a box of the tenant and audit it. */
export async function commandBox(
  db: Database,
  port: OperatorCommandPort,
  tenantId: string,
  deviceId: string,
  cmd: OperatorCommand,
  o: { actor: Actor; now: Date },
): Promise<CommandResult> {
  const { rows } = await db.query<{ online: boolean; revoked_at: Date | null }>(
    'SELECT online, revoked_at FROM devices WHERE tenant_id = $1 AND id = $2',
    [tenantId, deviceId],
  )
  const dev = rows[0]
  if (!dev) throw new BridgeError('not_found', 'no such device')
  if (dev.revoked_at !== null) throw new BridgeError('device_revoked', 'the box is revoked')
  let sent: boolean
  let whole: ConfigOverride | undefined
  if (cmd.type === 'config') {
    // The API validated already; the console's form and any other caller are checked here too.
    const parsed = ConfigOverrideSchema.safeParse(cmd.config)
    if (!parsed.success) throw new BridgeError('invalid_request', 'not a config override')
    whole = await accumulate(db, tenantId, deviceId, parsed.data)
    sent = await port.sendConfig(tenantId, deviceId, whole)
  } else sent = await port.sendSyncNow(tenantId, deviceId)
  await audit(db, {
    tenantId,
    at: o.now,
    actor: o.actor,
    action: `device.${cmd.type}`,
    subjectId: deviceId,
    detail: { sent, online: dev.online, ...(cmd.type === 'config' ? { config: cmd.config, whole } : {}) },
  })
  return { deviceId, type: cmd.type, sent, online: dev.online, ...(whole ? { config: whole } : {}) }
}

/**
 * Merge a patch into the box's stored override, field by field within each section, and return the whole:
 * the command carries all of it, so a later command never depends on an earlier one having arrived.
 */
async function accumulate(
  db: Database,
  tenantId: string,
  deviceId: string,
  patch: ConfigOverride,
): Promise<ConfigOverride> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ config_override: unknown }>(
      'SELECT config_override FROM devices WHERE tenant_id = $1 AND id = $2 FOR UPDATE',
      [tenantId, deviceId],
    )
    const raw = rows[0]?.config_override
    const stored = (typeof raw === 'string' ? JSON.parse(raw) : (raw ?? {})) as Record<string, unknown>
    const merged = mergeConfigOverride(stored, patch)
    await tx.query('UPDATE devices SET config_override = $3::jsonb WHERE tenant_id = $1 AND id = $2', [
      tenantId,
      deviceId,
      JSON.stringify(merged),
    ])
    return merged as ConfigOverride
  })
}
