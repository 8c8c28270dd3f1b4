/**
 * Console sessions: a person signs in with an operator or merchant API key and gets a session cookie; every
 * form then carries the session's CSRF token. Sessions live in the database (any replica serves any request),
 * keyed by a hash of the cookie's random id, and end at logout, at expiry, or when their API key is revoked.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import type { Queryable } from '../api/ports.js'
import { authenticate } from '../auth/api-keys.js'

export const COOKIE = 'opg_console'
/** Sessions end this long after sign-in. */
export const SESSION_TTL_MS = 8 * 3_600_000

export interface ConsoleSession {
  tenantId: string
  role: 'operator' | 'merchant'
  /** The merchant a merchant session acts for; null for operators. */
  subjectId: string | null
  keyId: string
  csrf: string
  expiresAt: Date
}

const hashId = (id: string): Buffer => createHash('sha256').update(id).digest()

/** Why a sign-in was refused, in words a person can act on. */
export type SignInRefusal = 'bad_key' | 'wrong_role'

/** Sign in with an API key: a new session, or why not. Wallet and device keys cannot sign in. */
export async function signIn(
  q: Queryable,
  key: string,
  now: Date,
): Promise<{ id: string; session: ConsoleSession } | { refused: SignInRefusal }> {
  const p = await authenticate(q, key.trim())
  if (!p) return { refused: 'bad_key' }
  if (p.role !== 'operator' && p.role !== 'merchant') return { refused: 'wrong_role' }
  const id = randomBytes(32).toString('base64url')
  const session: ConsoleSession = {
    tenantId: p.tenantId,
    role: p.role,
    subjectId: p.subjectId,
    keyId: p.keyId,
    csrf: randomBytes(24).toString('base64url'),
    expiresAt: new Date(now.getTime() + SESSION_TTL_MS),
  }
  await q.query(
    `INSERT INTO console_sessions (id_hash, tenant_id, key_id, role, subject_id, csrf, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [
      hashId(id),
      session.tenantId,
      session.keyId,
      session.role,
      session.subjectId,
      session.csrf,
      session.expiresAt,
    ],
  )
  return { id, session }
}

/** The live session a cookie names, or null (unknown, expired, or its API key revoked since). */
export async function findSession(
  q: Queryable,
  id: string | undefined,
  now: Date,
): Promise<ConsoleSession | null> {
  if (!id || id.length > 64) return null
  const { rows } = await q.query<{
    tenant_id: string
    role: 'operator' | 'merchant'
    subject_id: string | null
    key_id: string
    csrf: string
    expires_at: Date
  }>(
    `SELECT s.tenant_id, s.role, s.subject_id, s.key_id, s.csrf, s.expires_at
       FROM console_sessions s
       JOIN api_keys k ON k.id = s.key_id AND k.tenant_id = s.tenant_id AND k.revoked_at IS NULL
       JOIN tenants t ON t.id = s.tenant_id AND t.status = 'active'
      WHERE s.id_hash = $1 AND s.expires_at > $2`,
    [hashId(id), now],
  )
  const r = rows[0]
  if (!r) return null
  return {
    tenantId: r.tenant_id,
    role: r.role,
    subjectId: r.subject_id,
    keyId: r.key_id,
    csrf: r.csrf,
    expiresAt: new Date(r.expires_at),
  }
}

/** End the session a cookie names (and sweep expired ones while at it). */
export async function endSession(q: Queryable, id: string | undefined, now: Date): Promise<void> {
  if (id) await q.query('DELETE FROM console_sessions WHERE id_hash = $1', [hashId(id)])
  await q.query('DELETE FROM console_sessions WHERE expires_at <= $1', [now])
}

/** Whether a submitted CSRF token is the session's (constant time). */
export function csrfMatches(session: ConsoleSession, submitted: unknown): boolean {
  if (typeof submitted !== 'string') return false
  const a = Buffer.from(session.csrf)
  const b = Buffer.from(submitted)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** Plain HTTP is only acceptable on loopback (the local system); anywhere else the cookie is Secure. */
export function isLoopbackHttp(c: Context): boolean {
  const url = new URL(c.req.url)
  return url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)
}

export function setSessionCookie(c: Context, id: string, expiresAt: Date): void {
  setCookie(c, COOKIE, id, {
    httpOnly: true,
    secure: !isLoopbackHttp(c),
    sameSite: 'Strict',
    path: '/console',
    expires: expiresAt,
  })
}

export function clearSessionCookie(c: Context): void {
  deleteCookie(c, COOKIE, { path: '/console', secure: !isLoopbackHttp(c) })
}

export const sessionCookie = (c: Context): string | undefined => getCookie(c, COOKIE)
