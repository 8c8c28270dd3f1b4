/**
 * API keys: random, shown once, stored as SHA-256 only, compared in constant time.
 * A key reads `opg_<key id>_<secret>`: the key id (public, 16 hex) finds the row, the hash of the whole
 * text must then match. Every key belongs to one tenant and one role; non-operator keys act for one subject.
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
): Promise<CreatedKey> {
  if ((role === 'operator') !== (subjectId === null)) {
    throw new TypeError('operator keys have no subject; other roles need one')
  }
  const id = newId()
  const key = `opg_${id}_${randomBytes(32).toString('base64url')}`
  await q.query(
    'INSERT INTO api_keys (id, tenant_id, role, subject_id, key_hash, label) VALUES ($1, $2, $3, $4, $5, $6)',
    [id, tenantId, role, subjectId, hashKey(key), label],
  )
  return { id, key, role, subjectId }
}

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
  }>(
    // A suspended tenant's keys stop working with it.
    `SELECT k.tenant_id, k.role, k.subject_id, k.key_hash FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
      WHERE k.id = $1 AND k.revoked_at IS NULL AND t.status = 'active'`,
    [m[1]],
  )
  const row = rows[0]
  if (!row) return null
  const stored = Buffer.from(row.key_hash)
  if (stored.length !== presentedHash.length || !timingSafeEqual(stored, presentedHash)) return null
  return { tenantId: row.tenant_id, role: row.role, subjectId: row.subject_id, keyId: m[1]! }
}

/** A key as listed to operators: never the secret or its hash. */
export interface KeyInfo {
  id: string
  role: Role
  subjectId: string | null
  label: string
  createdAt: Date
  revokedAt: Date | null
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
  }>(
    'SELECT id, role, subject_id, label, created_at, revoked_at FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id',
    [tenantId],
  )
  return rows.map((r) => ({
    id: r.id,
    role: r.role,
    subjectId: r.subject_id,
    label: r.label,
    createdAt: new Date(r.created_at),
    revokedAt: r.revoked_at ? new Date(r.revoked_at) : null,
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
