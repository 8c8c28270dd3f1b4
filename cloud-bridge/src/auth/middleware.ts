/**
 * Bearer-key authentication for Hono, and the access rules every route states. A route first names the
 * roles it serves (another role gets 403); a merchant, wallet or device key may then only touch its own
 * subject — anything else is 404, exactly as if it belonged to another tenant, so ids leak nothing.
 */
import type { MiddlewareHandler } from 'hono'
import { BridgeError } from '../api/errors.js'
import type { Queryable } from '../api/ports.js'
import { authenticate, type Principal, type Role } from './api-keys.js'

/** Hono variables set by the auth middleware. */
export interface AuthVariables {
  principal: Principal
}

/** Resolve `Authorization: Bearer <key>` to a principal, or answer 401. */
export function bearerAuth(q: Queryable): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? ''
    const m = /^Bearer\s+(\S+)$/i.exec(header)
    const principal = m ? await authenticate(q, m[1]!) : null
    if (!principal) throw new BridgeError('unauthorized', 'no valid API key')
    c.set('principal', principal)
    await next()
  }
}

/** Throw 403 unless the principal has one of `roles`. */
export function requireRole(p: Principal, ...roles: Role[]): void {
  if (!roles.includes(p.role)) throw new BridgeError('forbidden', `role ${p.role} may not do this`)
}

/**
 * For a principal of `role`, throw 404 unless it acts for `subjectId`. Other roles pass (they were
 * checked by requireRole); operators see their whole tenant.
 */
export function requireSubject(p: Principal, role: Exclude<Role, 'operator'>, subjectId: string): void {
  if (p.role === role && p.subjectId !== subjectId) throw new BridgeError('not_found', 'no such resource')
}
