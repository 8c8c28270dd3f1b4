/**
 * Ingest's ports on the bridge's tables: the devices table (secret sealed at rest, fleet columns) and the
 * issuer_keys table. The composition root passes the function that unseals a device secret (the master key).
 */
import type { IssuerKeyring } from '@opg/protocol'
import type { Queryable } from '../reconcile/ports.js'
import type { DeviceDirectory, DeviceRecord, DeviceStatusUpdate, KeyringSource } from './ports.js'

/** Opens a sealed device secret of (tenant, device). */
export type UnsealDeviceSecret = (sealed: Uint8Array, tenantId: string, deviceId: string) => Uint8Array

/** DeviceDirectory on the devices table. */
export function sqlDeviceDirectory(db: Queryable, unseal: UnsealDeviceSecret): DeviceDirectory {
  return {
    async lookup(tenantId, deviceId): Promise<DeviceRecord | null> {
      const { rows } = await db.query<{
        merchant_id: string
        sealed_secret: Uint8Array
        revoked_at: Date | null
        tenant_status: string
      }>(
        `SELECT d.merchant_id, d.sealed_secret, d.revoked_at, t.status AS tenant_status
           FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE d.tenant_id = $1 AND d.id = $2`,
        [tenantId, deviceId],
      )
      const r = rows[0]
      if (!r) return null
      return {
        tenantId,
        deviceId,
        merchantId: r.merchant_id,
        secret: unseal(new Uint8Array(r.sealed_secret), tenantId, deviceId),
        revoked: r.revoked_at !== null,
        suspended: r.tenant_status !== 'active',
      }
    },
    async recordStatus(tenantId, deviceId, s: DeviceStatusUpdate) {
      // A sealed status proves the box was there: last_seen_at moves forward only.
      await db.query(
        `UPDATE devices SET online = coalesce($3, online), pending_count = $4, status = $5,
           last_seen_at = greatest(coalesce(last_seen_at, $6), $6)
         WHERE tenant_id = $1 AND id = $2`,
        [tenantId, deviceId, s.online ?? null, s.pendingCount, JSON.stringify(s.detail), s.receivedAt],
      )
    },
    async recordOffline(tenantId, deviceId, session) {
      const { rows } = await db.query(
        `UPDATE devices SET online = false
         WHERE tenant_id = $1 AND id = $2 AND status->>'session' = $3 RETURNING id`,
        [tenantId, deviceId, session],
      )
      return rows.length === 1
    },
  }
}

/** KeyringSource on issuer_keys: every key not retired, by key id. */
export function sqlKeyrings(db: Queryable): KeyringSource {
  return {
    async keyring(tenantId): Promise<IssuerKeyring> {
      const { rows } = await db.query<{ key_id: string; public_key: Uint8Array }>(
        "SELECT key_id, public_key FROM issuer_keys WHERE tenant_id = $1 AND status <> 'retired'",
        [tenantId],
      )
      return new Map(rows.map((r) => [r.key_id, new Uint8Array(r.public_key)]))
    },
  }
}
