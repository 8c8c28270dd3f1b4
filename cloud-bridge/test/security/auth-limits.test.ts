/**
 * Authentication limits and the API key lifecycle, on both engines: failed secrets are limited per key id and
 * per client address (X-Forwarded-For only when the proxy is trusted), requests per key are capped, keys
 * expire, rotate with two live secrets, and record when they were last used (at most once a minute).
 */
import t from 'tap'
import type { ApiApp } from '../../src/api/app.js'
import { RateLimiter, WindowCounter } from '../../src/auth/rate-limit.js'
import { call, makeApi, makeWorld } from '../api/support.js'
import { forEachDatabase } from '../support/databases.js'

/** A call from a client address, as a reverse proxy would forward it. */
async function from(app: ApiApp, address: string, key: string) {
  const res = await app.request('/v1/tenant', {
    headers: { authorization: `Bearer ${key}`, 'x-forwarded-for': `203.0.113.250, ${address}` },
  })
  const body = (await res.json()) as { error?: { code: string } }
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body }
}

/** The key text with its secret replaced: same key id, wrong secret. */
const wrongSecret = (key: string) => `${key.slice(0, 21)}${'A'.repeat(43)}`

t.test('the window counter refuses past its limit and forgets after the window', async (t) => {
  let now = 1_000
  const w = new WindowCounter(2, 1000, () => now, 3)
  t.equal(w.hit('a'), 0)
  t.equal(w.hit('a'), 0)
  t.equal(w.hit('a'), 1000, 'the third in the window waits for its end')
  t.equal(w.blockedFor('a'), 1000)
  now += 1000
  t.equal(w.blockedFor('a'), 0, 'a new window')
  for (const k of ['b', 'c', 'd', 'e']) w.hit(k)
  t.equal(w.blockedFor('b'), 0, 'the oldest key is evicted when full: memory stays bounded')
})

t.test('the client address is the socket unless the proxy is trusted', async (t) => {
  const headers = { 'x-forwarded-for': '198.51.100.7, 192.0.2.1' }
  const seen: string[] = []
  for (const trustProxy of [false, true]) {
    const limiter = new RateLimiter({ perKeyPerMinute: 10, authFailuresPer15Minutes: 10, trustProxy })
    const { Hono } = await import('hono')
    const app = new Hono().get('/', (c) => c.text(limiter.clientAddress(c)))
    seen.push(await (await app.request('/', { headers })).text())
  }
  t.same(seen, ['', '192.0.2.1'], 'untrusted: the header is ignored; trusted: the hop the proxy added')
})

forEachDatabase(t, async (t, db) => {
  t.test('wrong secrets are limited per key id and per address; the limit answers 429', async (t) => {
    const limits = { perKeyPerMinute: 1000, authFailuresPer15Minutes: 3, trustProxy: true }
    const api = makeApi(db, { rateLimits: limits })
    const w = await makeWorld(api, `limits-${Math.random()}`)
    for (let i = 0; i < 3; i++)
      t.equal((await from(api.app, '192.0.2.10', wrongSecret(w.merchantKey))).status, 401)
    const locked = await from(api.app, '192.0.2.11', wrongSecret(w.merchantKey))
    t.equal(locked.status, 429, 'the key id is locked from any address')
    t.equal(locked.body.error?.code, 'rate_limited')
    t.ok(Number(locked.retryAfter) > 0 && Number(locked.retryAfter) <= 900, 'Retry-After within the window')
    const other = await from(api.app, '192.0.2.10', wrongSecret(w.walletKey))
    t.equal(other.status, 429, 'and the address is locked for any key id')
    t.equal((await from(api.app, '192.0.2.12', w.operator)).status, 200, 'others are unaffected')
  })

  t.test('without a trusted proxy, a forged X-Forwarded-For does not reset the address limit', async (t) => {
    const api = makeApi(db, {
      rateLimits: { perKeyPerMinute: 1000, authFailuresPer15Minutes: 2, trustProxy: false },
    })
    const w = await makeWorld(api, `noproxy-${Math.random()}`)
    const statuses: number[] = []
    for (const addr of ['192.0.2.1', '192.0.2.2', '192.0.2.3'])
      statuses.push((await from(api.app, addr, `opg_${'0'.repeat(16)}_${'B'.repeat(43)}`)).status)
    t.same(statuses, [401, 401, 429])
    t.equal((await from(api.app, '192.0.2.9', w.operator)).status, 429, 'the one real address is locked')
  })

  t.test('requests per key are capped', async (t) => {
    const api = makeApi(db, {
      rateLimits: { perKeyPerMinute: 5, authFailuresPer15Minutes: 100, trustProxy: false },
    })
    // The world setup makes three calls with the operator key.
    const w = await makeWorld(api, `cap-${Math.random()}`)
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) statuses.push((await call(api.app, 'GET', '/v1/tenant', w.walletKey)).status)
    t.same(statuses, [200, 200, 200, 200, 200, 429])
    t.equal((await call(api.app, 'GET', '/v1/tenant', w.operator)).status, 200, 'per key, not global')
  })

  t.test('keys expire by the database clock', async (t) => {
    const api = makeApi(db)
    const w = await makeWorld(api, `expiry-${Math.random()}`)
    t.equal(
      (await call(api.app, 'POST', '/v1/keys', w.operator, { role: 'operator', expiresInSeconds: 30 }))
        .status,
      400,
      'an expiry under a minute is refused',
    )
    const k = await call(api.app, 'POST', '/v1/keys', w.operator, {
      role: 'operator',
      expiresInSeconds: 3600,
    })
    t.equal(k.status, 201)
    t.equal((await call(api.app, 'GET', '/v1/tenant', k.body.key)).status, 200)
    const listed = (await call(api.app, 'GET', '/v1/keys', w.operator)).body.keys.find(
      (x: { id: string }) => x.id === k.body.id,
    )
    t.ok(listed.expiresAt, 'the listing shows the expiry')
    await db.query(`UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [k.body.id])
    t.equal((await call(api.app, 'GET', '/v1/tenant', k.body.key)).status, 401, 'an expired key is refused')
  })

  t.test('rotation: two live secrets during the grace, then only the new one', async (t) => {
    const api = makeApi(db)
    const w = await makeWorld(api, `rotate-${Math.random()}`)
    const walletKeyId = w.walletKey.slice(4, 20)
    const r = await call(api.app, 'POST', `/v1/keys/${walletKeyId}/rotate`, w.walletKey, {
      graceSeconds: 600,
    })
    t.equal(r.status, 200, 'a key rotates itself')
    t.equal(r.body.id, walletKeyId, 'same key id')
    t.not(r.body.key, w.walletKey)
    t.equal((await call(api.app, 'GET', '/v1/tenant', w.walletKey)).status, 200, 'old secret still works')
    t.equal((await call(api.app, 'GET', '/v1/tenant', r.body.key)).status, 200, 'new secret works')
    await db.query(`UPDATE api_keys SET previous_expires_at = now() - interval '1 second' WHERE id = $1`, [
      walletKeyId,
    ])
    t.equal((await call(api.app, 'GET', '/v1/tenant', w.walletKey)).status, 401, 'grace over: old refused')
    t.equal((await call(api.app, 'GET', '/v1/tenant', r.body.key)).status, 200)

    const merchantKeyId = w.merchantKey.slice(4, 20)
    const foreign = await call(api.app, 'POST', `/v1/keys/${merchantKeyId}/rotate`, r.body.key, {})
    t.equal(foreign.status, 403, 'a wallet key cannot rotate another key')
    const byOp = await call(api.app, 'POST', `/v1/keys/${merchantKeyId}/rotate`, w.operator, {
      graceSeconds: 0,
    })
    t.equal(byOp.status, 200, 'the operator rotates any key')
    t.equal((await call(api.app, 'GET', '/v1/tenant', w.merchantKey)).status, 401, 'no grace: old refused')
    const audit = await call(api.app, 'GET', '/v1/audit', w.operator)
    t.same(
      audit.body.entries
        .filter((e: { action: string }) => e.action === 'key.rotated')
        .map((e: { subjectId: string }) => e.subjectId),
      [merchantKeyId, walletKeyId],
      'rotations are audited',
    )
  })

  t.test('last_used_at is kept current, written at most once a minute', async (t) => {
    const api = makeApi(db)
    const w = await makeWorld(api, `used-${Math.random()}`)
    const id = w.walletKey.slice(4, 20)
    const lastUsed = async () =>
      (await db.query<{ t: Date | null }>('SELECT last_used_at AS t FROM api_keys WHERE id = $1', [id]))
        .rows[0]!.t
    t.equal(await lastUsed(), null, 'never used yet')
    await call(api.app, 'GET', '/v1/tenant', w.walletKey)
    t.ok(await lastUsed(), 'set on first use')
    await db.query(`UPDATE api_keys SET last_used_at = now() - interval '30 seconds' WHERE id = $1`, [id])
    const recent = await lastUsed()
    await call(api.app, 'GET', '/v1/tenant', w.walletKey)
    t.same(await lastUsed(), recent, 'not rewritten within the minute')
    await db.query(`UPDATE api_keys SET last_used_at = now() - interval '2 minutes' WHERE id = $1`, [id])
    const old = (await lastUsed())!
    await call(api.app, 'GET', '/v1/tenant', w.walletKey)
    t.ok((await lastUsed())!.getTime() > old.getTime(), 'refreshed once stale')
  })
})
