/**
 * The operator's audit log: who (API key and role) changed something that matters for money or access —
 * a payout bank account, an API key, a top-up limit — when (database clock) and what. Rows are written in the
 * same statement flow as the change and can only be appended (a trigger refuses updates and deletes).
 */
import type { Queryable } from '../api/ports.js'
import type { Principal } from './api-keys.js'

/** One audited change. */
export interface AuditEntry {
  id: number
  at: Date
  actorKeyId: string | null
  actorRole: string
  action: string
  subjectId: string | null
  detail: Record<string, unknown>
}

/** Append an entry for a change the principal made. */
export async function audit(
  q: Queryable,
  p: Principal,
  action: string,
  subjectId: string | null,
  detail: Record<string, unknown> = {},
): Promise<void> {
  await q.query(
    `INSERT INTO audit_log (tenant_id, actor_key_id, actor_role, action, subject_id, detail)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [p.tenantId, p.keyId, p.role, action, subjectId, JSON.stringify(detail)],
  )
}

/** The newest entries of a tenant, newest first. */
export async function listAudit(q: Queryable, tenantId: string, limit = 100): Promise<AuditEntry[]> {
  const { rows } = await q.query<{
    id: bigint | number
    at: Date
    actor_key_id: string | null
    actor_role: string
    action: string
    subject_id: string | null
    detail: Record<string, unknown>
  }>('SELECT * FROM audit_log WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2', [tenantId, limit])
  return rows.map((r) => ({
    id: Number(r.id),
    at: new Date(r.at),
    actorKeyId: r.actor_key_id,
    actorRole: r.actor_role,
    action: r.action,
    subjectId: r.subject_id,
    detail: r.detail,
  }))
}
