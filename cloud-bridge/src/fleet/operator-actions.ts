/**
 * What an operator does to stop a box or a whole tenant: revoke a box (`devices.revoked_at`) and suspend a
 * tenant (`tenants.status`). Each is one transaction that changes the state, cuts the credentials that depend
 * on it and writes an audit row; repeating it changes nothing and audits nothing (idempotent), and says so.
 * What follows from the state lives elsewhere: ingest keeps a revoked box's or suspended tenant's batch tokens
 * as refused (ingest/refuse-device.ts), the broker refuses the box's connection, the API refuses the keys.
 */

import { BridgeError } from '../api/errors.js'
import type { Database, Queryable } from '../api/ports.js'

/** Who acted: the API key id, or null for the `opg-bridge` command line. */
export type Actor = string | null

/** Append one row to the tenant's audit log (migration 145; in the caller's transaction). */
export async function audit(
  q: Queryable,
  e: { tenantId: string; at: Date; actor: Actor; action: string; subjectId: string | null; detail?: object },
): Promise<void> {
  await q.query(
    `INSERT INTO audit_log (tenant_id, at, actor_key_id, actor_role, action, subject_id, detail)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [
      e.tenantId,
      e.at,
      e.actor,
      e.actor === null ? 'platform' : 'operator',
      e.action,
      e.subjectId,
      JSON.stringify(e.detail ?? {}),
    ],
  )
}

export interface RevokeResult {
  revokedAt: Date
  reason: string | null
  /** False when the box was already revoked (nothing changed). */
  changed: boolean
}

/**
 * Revoke a box of the tenant: from now on its batches are refused at ingest and its device API keys stop.
 * Not found (`not_found`) when the tenant has no such box — another tenant's box looks the same.
 */
export async function revokeDevice(
  db: Database,
  tenantId: string,
  deviceId: string,
  o: { actor: Actor; reason: string | null; now: Date },
): Promise<RevokeResult> {
  return db.transaction(async (tx) => {
    const cur = await tx.query<{ revoked_at: Date | null; revoked_reason: string | null }>(
      'SELECT revoked_at, revoked_reason FROM devices WHERE tenant_id = $1 AND id = $2 FOR UPDATE',
      [tenantId, deviceId],
    )
    const row = cur.rows[0]
    if (!row) throw new BridgeError('not_found', 'no such device')
    if (row.revoked_at !== null) {
      return { revokedAt: new Date(row.revoked_at), reason: row.revoked_reason, changed: false }
    }
    await tx.query(
      'UPDATE devices SET revoked_at = $3, revoked_reason = $4, online = false WHERE tenant_id = $1 AND id = $2',
      [tenantId, deviceId, o.now, o.reason],
    )
    const keys = await tx.query(
      `UPDATE api_keys SET revoked_at = $3
       WHERE tenant_id = $1 AND role = 'device' AND subject_id = $2 AND revoked_at IS NULL`,
      [tenantId, deviceId, o.now],
    )
    await audit(tx, {
      tenantId,
      at: o.now,
      actor: o.actor,
      action: 'device.revoke',
      subjectId: deviceId,
      detail: { reason: o.reason, apiKeysRevoked: keys.rowCount ?? 0 },
    })
    return { revokedAt: o.now, reason: o.reason, changed: true }
  })
}

export interface SuspendResult {
  status: 'active' | 'suspended'
  suspendedAt: Date | null
  changed: boolean
}

/**
 * Suspend a tenant: every API key of the tenant stops (auth checks the tenant's status) and ingest refuses
 * its boxes' batches, keeping their tokens. Resuming is the platform's decision (`opg-bridge tenant resume`),
 * since the tenant's own keys no longer work.
 */
export async function setTenantStatus(
  db: Database,
  tenantId: string,
  status: 'active' | 'suspended',
  o: { actor: Actor; reason: string | null; now: Date },
): Promise<SuspendResult> {
  return db.transaction(async (tx) => {
    const cur = await tx.query<{ status: 'active' | 'suspended'; suspended_at: Date | null }>(
      'SELECT status, suspended_at FROM tenants WHERE id = $1 FOR UPDATE',
      [tenantId],
    )
    const row = cur.rows[0]
    if (!row) throw new BridgeError('not_found', 'no such tenant')
    if (row.status === status) {
      return { status, suspendedAt: row.suspended_at ? new Date(row.suspended_at) : null, changed: false }
    }
    const suspendedAt = status === 'suspended' ? o.now : null
    await tx.query('UPDATE tenants SET status = $2, suspended_at = $3, suspended_reason = $4 WHERE id = $1', [
      tenantId,
      status,
      suspendedAt,
      status === 'suspended' ? o.reason : null,
    ])
    await audit(tx, {
      tenantId,
      at: o.now,
      actor: o.actor,
      action: status === 'suspended' ? 'tenant.suspend' : 'tenant.resume',
      subjectId: tenantId,
      detail: { reason: o.reason },
    })
    return { status, suspendedAt, changed: true }
  })
}
