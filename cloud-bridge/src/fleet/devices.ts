/**
 * Merchant boxes: registration (device secret generated here and returned once), node certificate
 * issuance, the status the box reports over MQTT, and the fleet view built from it.
 */
import { randomBytes } from 'node:crypto'
import { BridgeError } from '../api/errors.js'
import type { Database, IssuerPort, Queryable } from '../api/ports.js'
import { type CreatedKey, createApiKey } from '../auth/api-keys.js'
import { newId } from '../db/ids.js'
import type { SecretSealer } from '../issuer/master-key.js'

/** A box as the API shows it (never its secret). */
export interface Device {
  id: string
  merchantId: string
  label: string
  createdAt: Date
  certified: boolean
  certExpiresAt: Date | null
  lastSeenAt: Date | null
  online: boolean
  pendingCount: number
  /** A revoked box is refused at the broker and the API. */
  revoked: boolean
  /** The box's modem (E.164): where OPG1 PAID confirmations go while it is offline. */
  modemNumber: string | null
}

interface DeviceRow {
  modem_number: string | null
  id: string
  merchant_id: string
  label: string
  created_at: Date
  cert_expires_at: Date | null
  last_seen_at: Date | null
  online: boolean
  pending_count: number
  revoked_at: Date | null
}

const COLS =
  'id, merchant_id, label, created_at, cert_expires_at, last_seen_at, online, pending_count, revoked_at, modem_number'

function toDevice(r: DeviceRow): Device {
  return {
    id: r.id,
    merchantId: r.merchant_id,
    label: r.label,
    createdAt: new Date(r.created_at),
    certified: r.cert_expires_at !== null,
    modemNumber: r.modem_number ?? null,
    certExpiresAt: r.cert_expires_at ? new Date(r.cert_expires_at) : null,
    lastSeenAt: r.last_seen_at ? new Date(r.last_seen_at) : null,
    online: r.online,
    pendingCount: Number(r.pending_count),
    revoked: r.revoked_at !== null,
  }
}

/** Associated data binding a sealed device secret to its row. */
export const deviceSecretAad = (tenantId: string, deviceId: string): string =>
  `device:${tenantId}:${deviceId}`

/**
 * Register a box for a merchant of the tenant. Returns the 128-bit device secret (the only copy that
 * leaves the bridge, for provisioning) and a device API key.
 */
export async function registerDevice(
  db: Database,
  sealer: SecretSealer,
  tenantId: string,
  merchantId: string,
  label: string,
): Promise<{ device: Device; deviceSecret: Uint8Array; apiKey: CreatedKey }> {
  return db.transaction(async (tx) => {
    const m = await tx.query('SELECT 1 FROM merchants WHERE tenant_id = $1 AND id = $2', [
      tenantId,
      merchantId,
    ])
    if (m.rows.length === 0) throw new BridgeError('not_found', 'no such merchant')
    const id = newId()
    const secret = randomBytes(16)
    const { rows } = await tx.query<DeviceRow>(
      `INSERT INTO devices (tenant_id, id, merchant_id, label, sealed_secret) VALUES ($1, $2, $3, $4, $5)
       RETURNING ${COLS}`,
      [tenantId, id, merchantId, label, sealer.seal(secret, deviceSecretAad(tenantId, id))],
    )
    const apiKey = await createApiKey(tx, tenantId, 'device', id, `device ${label}`)
    return { device: toDevice(rows[0]!), deviceSecret: new Uint8Array(secret), apiKey }
  })
}

/** A box of the tenant, or null. */
export async function getDevice(q: Queryable, tenantId: string, id: string): Promise<Device | null> {
  const { rows } = await q.query<DeviceRow>(`SELECT ${COLS} FROM devices WHERE tenant_id = $1 AND id = $2`, [
    tenantId,
    id,
  ])
  return rows[0] ? toDevice(rows[0]) : null
}

/** The tenant's boxes, optionally only one merchant's: the fleet view. */
export async function listDevices(q: Queryable, tenantId: string, merchantId?: string): Promise<Device[]> {
  const { rows } =
    merchantId === undefined
      ? await q.query<DeviceRow>(`SELECT ${COLS} FROM devices WHERE tenant_id = $1 ORDER BY created_at, id`, [
          tenantId,
        ])
      : await q.query<DeviceRow>(
          `SELECT ${COLS} FROM devices WHERE tenant_id = $1 AND merchant_id = $2 ORDER BY created_at, id`,
          [tenantId, merchantId],
        )
  return rows.map(toDevice)
}

/** The device secret, for deriving the box's MQTT and SMS keys. Null when the tenant has no such box. */
export async function deviceSecret(
  q: Queryable,
  sealer: SecretSealer,
  tenantId: string,
  deviceId: string,
): Promise<Uint8Array | null> {
  const { rows } = await q.query<{ sealed_secret: Uint8Array }>(
    'SELECT sealed_secret FROM devices WHERE tenant_id = $1 AND id = $2',
    [tenantId, deviceId],
  )
  return rows[0]
    ? new Uint8Array(sealer.open(rows[0].sealed_secret, deviceSecretAad(tenantId, deviceId)))
    : null
}

/** What a box's retained status message says, as the ingest consumer hands it over. */
export interface DeviceStatusReport {
  online: boolean
  pendingCount: number
  /** When the bridge received it (the box's clock is not trusted). */
  receivedAt: Date
  detail?: Record<string, unknown>
}

/** Record a box's status for the fleet view. False when the tenant has no such box. */
export async function recordDeviceStatus(
  q: Queryable,
  tenantId: string,
  deviceId: string,
  s: DeviceStatusReport,
): Promise<boolean> {
  const { rows } = await q.query(
    `UPDATE devices SET online = $3, pending_count = $4, status = $5,
       last_seen_at = CASE WHEN $3 THEN $6::timestamptz ELSE last_seen_at END
     WHERE tenant_id = $1 AND id = $2 RETURNING id`,
    [
      tenantId,
      deviceId,
      s.online,
      s.pendingCount,
      JSON.stringify(s.detail ?? {}),
      s.receivedAt.toISOString(),
    ],
  )
  return rows.length === 1
}

/** Keys a box presents for certification: Ed25519 signing key and X25519 encryption key, 32 bytes each. */
export interface NodeKeys {
  signingKey: Uint8Array
  encryptionKey: Uint8Array
}

/** Issue (or re-issue) the box's node certificate, signed by the tenant's current issuer key. */
export async function certifyDevice(
  db: Database,
  issuer: IssuerPort,
  tenantId: string,
  deviceId: string,
  keys: NodeKeys,
  opts: { now: Date; ttlSeconds: number },
): Promise<{
  certificate: Uint8Array
  issuerKeyId: string
  expiresAt: Date
  keyring: ReadonlyMap<string, Uint8Array>
}> {
  if (keys.signingKey.length !== 32 || keys.encryptionKey.length !== 32) {
    throw new BridgeError('invalid_request', 'node keys must be 32 bytes')
  }
  const device = await getDevice(db, tenantId, deviceId)
  if (!device) throw new BridgeError('not_found', 'no such device')
  if (device.revoked) throw new BridgeError('forbidden', 'the device is revoked')
  const issuedAt = Math.floor(opts.now.getTime() / 1000)
  const expiresAt = issuedAt + opts.ttlSeconds
  const signer = await issuer.signer(tenantId)
  const bytes = signer.nodeCertificate({
    tenantId,
    merchantId: device.merchantId,
    deviceId,
    signingKey: keys.signingKey,
    encryptionKey: keys.encryptionKey,
    issuedAt,
    expiresAt,
  })
  await db.query(
    `UPDATE devices SET signing_key = $3, encryption_key = $4, certificate = $5, cert_key_id = $6,
       cert_expires_at = $7 WHERE tenant_id = $1 AND id = $2`,
    [
      tenantId,
      deviceId,
      keys.signingKey,
      keys.encryptionKey,
      bytes,
      signer.keyId,
      new Date(expiresAt * 1000).toISOString(),
    ],
  )
  return {
    certificate: bytes,
    issuerKeyId: signer.keyId,
    expiresAt: new Date(expiresAt * 1000),
    keyring: await issuer.keyring(tenantId),
  }
}
