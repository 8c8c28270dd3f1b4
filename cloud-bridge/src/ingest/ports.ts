/**
 * What ingest needs from the rest of the bridge, as small interfaces the composition root adapts:
 * the device registry (a box's merchant and secret) and each tenant's issuer keyring.
 */
import type { IssuerKeyring } from '@opg/protocol'

/** A registered box as ingest sees it. */
export interface DeviceRecord {
  tenantId: string
  deviceId: string
  merchantId: string
  /** The 16-byte device secret the MQTT payload key is derived from. */
  secret: Uint8Array
  /** A revoked box's messages are refused (its batch tokens kept as refused, nothing booked or acked). */
  revoked: boolean
  /** Its tenant is suspended: refused the same way. */
  suspended?: boolean
}

/** What a box's status message says, as handed to the fleet view. */
export interface DeviceStatusUpdate {
  /** Absent: leave it (the embedded broker's session events decide). */
  online?: boolean
  pendingCount: number
  /** Bridge time of receipt (the box's clock is not trusted). */
  receivedAt: Date
  detail: Record<string, unknown>
}

/** The device registry. */
export interface DeviceDirectory {
  /** The box registered under this tenant with this id, or null (unknown box, or another tenant's). */
  lookup(tenantId: string, deviceId: string): Promise<DeviceRecord | null>
  /** Record a status report for the fleet view (devices.last_seen_at, online, pending count). */
  recordStatus(tenantId: string, deviceId: string, status: DeviceStatusUpdate): Promise<void>
  /** A sealed will: offline only if `session` is the one last seen online. False when it is not. */
  recordOffline(tenantId: string, deviceId: string, session: string, receivedAt: Date): Promise<boolean>
}

/** Each tenant's issuer public keys. */
export interface KeyringSource {
  keyring(tenantId: string): Promise<IssuerKeyring>
}
