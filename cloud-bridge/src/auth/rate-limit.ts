/**
 * Request and authentication-failure limits for the API, kept in memory by each bridge replica.
 *
 * - Failed authentications are counted per key id (the public part of `opg_<id>_<secret>`) and per client
 *   address over a 15-minute window; past the limit every request with that key id, or from that address, is
 *   answered 429 before any secret is checked, until the window ends.
 * - Authenticated requests are counted per key per minute.
 *
 * The counters are per replica: behind a load balancer with N replicas a client gets up to N times the limit.
 * That bounds what a guesser or a runaway client costs without a shared store on the hot path; the secrets
 * themselves are 256-bit, so the limit is about load, not about guessing.
 */
import { getConnInfo } from '@hono/node-server/conninfo'
import type { Context } from 'hono'

/** A fixed-window counter per string key with a bounded number of keys (an attacker cannot grow it). */
export class WindowCounter {
  readonly #windows = new Map<string, { start: number; count: number }>()

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    readonly now: () => number = Date.now,
    readonly maxKeys = 100_000,
  ) {}

  /** Milliseconds until `key` may go on, or 0 when it is under the limit. Does not count. */
  blockedFor(key: string): number {
    const w = this.#windows.get(key)
    if (!w) return 0
    const left = w.start + this.windowMs - this.now()
    if (left <= 0) {
      this.#windows.delete(key)
      return 0
    }
    return w.count >= this.limit ? left : 0
  }

  /** Count one event for `key`; returns the milliseconds it must now wait (0 while under the limit). */
  hit(key: string): number {
    const t = this.now()
    let w = this.#windows.get(key)
    if (!w || w.start + this.windowMs <= t) {
      if (!w && this.#windows.size >= this.maxKeys) this.#evict(t)
      w = { start: t, count: 0 }
      this.#windows.set(key, w)
    }
    w.count++
    return w.count > this.limit ? w.start + this.windowMs - t : 0
  }

  #evict(t: number): void {
    for (const [k, w] of this.#windows) if (w.start + this.windowMs <= t) this.#windows.delete(k)
    // Still full of live windows: drop the oldest (Map keeps insertion order).
    while (this.#windows.size >= this.maxKeys) {
      const oldest = this.#windows.keys().next().value
      if (oldest === undefined) break
      this.#windows.delete(oldest)
    }
  }
}

/** Limits of the API (config http.*). */
export interface RateLimitOptions {
  /** Authenticated requests per key per minute. */
  perKeyPerMinute: number
  /** Failed authentications per key id, and per client address, per 15 minutes. */
  authFailuresPer15Minutes: number
  /** Take the client address from X-Forwarded-For (last hop) instead of the socket. */
  trustProxy: boolean
}

export const DEFAULT_RATE_LIMITS: RateLimitOptions = {
  perKeyPerMinute: 600,
  authFailuresPer15Minutes: 20,
  trustProxy: false,
}

/** The counters of one API instance. */
export class RateLimiter {
  readonly failuresByKeyId: WindowCounter
  readonly failuresByAddress: WindowCounter
  readonly requestsByKey: WindowCounter

  constructor(
    readonly opts: RateLimitOptions = DEFAULT_RATE_LIMITS,
    now: () => number = Date.now,
  ) {
    this.failuresByKeyId = new WindowCounter(opts.authFailuresPer15Minutes, 15 * 60_000, now)
    this.failuresByAddress = new WindowCounter(opts.authFailuresPer15Minutes, 15 * 60_000, now)
    this.requestsByKey = new WindowCounter(opts.perKeyPerMinute, 60_000, now)
  }

  /**
   * The client's address. Behind a trusted proxy, the last X-Forwarded-For entry: the one the proxy itself
   * appended (entries before it are whatever the client sent). Without a socket (in-process requests), ''.
   */
  clientAddress(c: Context): string {
    if (this.opts.trustProxy) {
      const last = c.req.header('x-forwarded-for')?.split(',').at(-1)?.trim()
      if (last) return last
    }
    try {
      return getConnInfo(c).remote.address ?? ''
    } catch {
      return ''
    }
  }
}
