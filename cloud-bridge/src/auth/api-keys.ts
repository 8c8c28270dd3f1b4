/**
 * API keys: random, shown once, stored as SHA-256 only, compared in constant time.
 * A key reads `opg_<key id>_<secret>`: the key id (public, 16 hex) finds the row, the hash of the whole
 * text must then match. Every key belongs to one tenant and one role; non-operator keys act for one subject.
 * A key may expire; rotation gives the key id a new secret while the previous one stays valid for a grace
 * period (two live secrets), so a client switches without downtime. Expiry and grace use the database clock.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Queryable } from '../api/ports.js'
import { newId } from '../db/ids.js'

/** The roles a key can have. Operators administer a tenant; the others act for one merchant, wallet or device. */
export const ROLES = ['operator', 'merchant', 'wallet', 'device'] as const
export type Role = (typeof ROLES)[number]

/** Who is calling: resolved from a valid API key. Every query of a request is scoped by `tenantId`. */
export interface Principal {
  tenantId: string
  role: Role
  /** Merchant, wallet or device id the key acts for; null for operators. */
  subjectId: string | null
  keyId: string
}

/** A freshly created key; `key` is the only copy of the secret. */
export interface CreatedKey {
  id: string
  key: string
  role: Role
  subjectId: string | null
}

const KEY_RE = /^opg_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/

function hashKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest()
}

/** Create a key for a tenant. Operators have no subject; every other role needs one. */
export async function createApiKey(
  q: Queryable,
  tenantId: string,
  role: Role,
  subjectId: string | null,
  label = '',
  opts: { expiresInSeconds?: number } = {},
): Promise<CreatedKey> {
  if ((role === 'operator') !== (subjectId === null)) {
    throw new TypeError('operator keys have no subject; other roles need one')
  }
  const id = newId()
  const key = `opg_${id}_${randomBytes(32).toString('base64url')}`
  await q.query(
    `INSERT INTO api_keys (id, tenant_id, role, subject_id, key_hash, label, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))`,
    [id, tenantId, role, subjectId, hashKey(key), label, opts.expiresInSeconds ?? null],
  )
  return { id, key, role, subjectId }
}

/**
 * Give a live key a new secret. The old secret keeps working for `graceSeconds` (0 ends it at once), so the
 * client can switch at its own pace. Returns the new key text, or null when the tenant has no such live key.
 */
export async function rotateApiKey(
  q: Queryable,
  tenantId: string,
  keyId: string,
  graceSeconds: number,
): Promise<CreatedKey | null> {
  const key = `opg_${keyId}_${randomBytes(32).toString('base64url')}`
  const { rows } = await q.query<{ role: Role; subject_id: string | null }>(
    `UPDATE api_keys SET previous_key_hash = key_hash, key_hash = $3, rotated_at = now(),
       previous_expires_at = now() + make_interval(secs => $4)
     WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
     RETURNING role, subject_id`,
    [tenantId, keyId, hashKey(key), graceSeconds],
  )
  const r = rows[0]
  return r ? { id: keyId, key, role: r.role, subjectId: r.subject_id } : null
}

/** last_used_at is written at most this often per key, so reads stay reads. */
const LAST_USED_GRANULARITY_S = 60

/** Resolve a presented key to its principal, or null when it is unknown, revoked or wrong. */
export async function authenticate(q: Queryable, presented: string): Promise<Principal | null> {
  const m = KEY_RE.exec(presented)
  // Still hash a malformed key so a bad format costs about as much as a wrong secret.
  const presentedHash = hashKey(presented)
  if (!m) return null
  const { rows } = await q.query<{
    tenant_id: string
    role: Role
    subject_id: string | null
    key_hash: Uint8Array
    previous_key_hash: Uint8Array | null
    stale: boolean
  }>(
    // A suspended tenant's keys stop working with it; an expired key and a previous secret past its grace too.
    `SELECT k.tenant_id, k.role, k.subject_id, k.key_hash,
        CASE WHEN k.previous_expires_at > now() THEN k.previous_key_hash END AS previous_key_hash,
        (k.last_used_at IS NULL OR k.last_used_at < now() - make_interval(secs => $2)) AS stale
      FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
      WHERE k.id = $1 AND k.revoked_at IS NULL AND t.status = 'active'
        AND (k.expires_at IS NULL OR k.expires_at > now())`,
    [m[1], LAST_USED_GRANULARITY_S],
  )
  const row = rows[0]
  if (!row) return null
  // Compare with both live secrets, always both, so timing does not say which one matched.
  const current = sameHash(row.key_hash, presentedHash)
  const previous = row.previous_key_hash !== null && sameHash(row.previous_key_hash, presentedHash)
  if (!current && !previous) return null
  if (row.stale) {
    await q.query(
      `UPDATE api_keys SET last_used_at = now() WHERE id = $1
        AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => $2))`,
      [m[1], LAST_USED_GRANULARITY_S],
    )
  }
  return { tenantId: row.tenant_id, role: row.role, subjectId: row.subject_id, keyId: m[1]! }
}

function sameHash(stored: Uint8Array, presented: Buffer): boolean {
  const s = Buffer.from(stored)
  return s.length === presented.length && timingSafeEqual(s, presented)
}

/** A key as listed to operators: never the secret or its hash. */
export interface KeyInfo {
  id: string
  role: Role
  subjectId: string | null
  label: string
  createdAt: Date
  revokedAt: Date | null
  expiresAt: Date | null
  lastUsedAt: Date | null
  /** When the last rotation happened, and until when the previous secret still works. */
  rotatedAt: Date | null
  previousSecretExpiresAt: Date | null
}

/** List a tenant's keys. */
export async function listApiKeys(q: Queryable, tenantId: string): Promise<KeyInfo[]> {
  const { rows } = await q.query<{
    id: string
    role: Role
    subject_id: string | null
    label: string
    created_at: Date
    revoked_at: Date | null
    expires_at: Date | null
    last_used_at: Date | null
    rotated_at: Date | null
    previous_expires_at: Date | null
  }>(
    `SELECT id, role, subject_id, label, created_at, revoked_at, expires_at, last_used_at, rotated_at,
       previous_expires_at FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id`,
    [tenantId],
  )
  const date = (d: Date | null) => (d ? new Date(d) : null)
  return rows.map((r) => ({
    id: r.id,
    role: r.role,
    subjectId: r.subject_id,
    label: r.label,
    createdAt: new Date(r.created_at),
    revokedAt: date(r.revoked_at),
    expiresAt: date(r.expires_at),
    lastUsedAt: date(r.last_used_at),
    rotatedAt: date(r.rotated_at),
    previousSecretExpiresAt: date(r.previous_expires_at),
  }))
}

/** Revoke a key of the tenant; false when the tenant has no such live key. */
export async function revokeApiKey(q: Queryable, tenantId: string, keyId: string): Promise<boolean> {
  const { rows } = await q.query(
    'UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL RETURNING id',
    [tenantId, keyId],
  )
  return rows.length === 1
}
