/**
 * Bearer-key authentication for Hono, and the access rules every route states. A route first names the
 * roles it serves (another role gets 403); a merchant, wallet or device key may then only touch its own
 * subject — anything else is 404, exactly as if it belonged to another tenant, so ids leak nothing.
 */
import type { Context, MiddlewareHandler } from 'hono'
import { BridgeError, toErrorResponse } from '../api/errors.js'
import type { Queryable } from '../api/ports.js'
import { authenticate, type Principal, type Role } from './api-keys.js'
import { RateLimiter } from './rate-limit.js'

/** Hono variables set by the auth middleware. */
export interface AuthVariables {
  principal: Principal
}

function tooMany(c: Context, waitMs: number): Response {
  const { body } = toErrorResponse(new BridgeError('rate_limited', 'rate limited'))
  return c.json(body, 429, { 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))) })
}

/**
 * Resolve `Authorization: Bearer <key>` to a principal, or answer 401; 429 once a key id or a client address
 * has failed too often, or a key has made too many requests (see rate-limit.ts).
 */
export function bearerAuth(
  q: Queryable,
  limiter: RateLimiter = new RateLimiter(),
): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? ''
    const presented = /^Bearer\s+(\S+)$/i.exec(header)?.[1]
    // The key id is readable before the secret is checked: failures are counted against it.
    const keyId = presented ? /^opg_([0-9a-f]{16})_/.exec(presented)?.[1] : undefined
    const address = `addr:${limiter.clientAddress(c)}`
    const blocked = Math.max(
      limiter.failuresByAddress.blockedFor(address),
      keyId ? limiter.failuresByKeyId.blockedFor(keyId) : 0,
    )
    if (blocked > 0) return tooMany(c, blocked)
    const principal = presented ? await authenticate(q, presented) : null
    if (!principal) {
      limiter.failuresByAddress.hit(address)
      if (keyId) limiter.failuresByKeyId.hit(keyId)
      throw new BridgeError('unauthorized', 'no valid API key')
    }
    const wait = limiter.requestsByKey.hit(principal.keyId)
    if (wait > 0) return tooMany(c, wait)
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
