import t from 'tap'
import { forEachDatabase } from '../support/databases.js'
import { call, makeApi, makeWorld } from './support.js'

t.test('error handling', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    const api = makeApi(db, { limits: { bodyBytes: 2048, logBodyBytes: 8192 } })
    const w = await makeWorld(api, 'errors')

    await t.test('no key, a malformed key and a wrong secret are all 401 with one code', async (t) => {
      for (const key of [null, 'nonsense', `${w.operator.slice(0, -4)}AAAA`]) {
        const r = await call(api.app, 'GET', '/v1/tenant', key)
        t.equal(r.status, 401)
        t.same(r.body, { error: { code: 'unauthorized', message: 'missing or invalid API key' } })
      }
    })

    await t.test('malformed JSON is 400 malformed_json', async (t) => {
      const res = await api.app.request('/v1/merchants', {
        method: 'POST',
        headers: { authorization: `Bearer ${w.operator}`, 'content-type': 'application/json' },
        body: '{"name": ',
      })
      t.equal(res.status, 400)
      t.equal(((await res.json()) as { error: { code: string } }).error.code, 'malformed_json')
    })

    await t.test('a body that is not JSON is 415 unsupported_media_type', async (t) => {
      const res = await api.app.request('/v1/merchants', {
        method: 'POST',
        headers: { authorization: `Bearer ${w.operator}`, 'content-type': 'text/plain' },
        body: 'name=x',
      })
      t.equal(res.status, 415)
      t.equal(((await res.json()) as { error: { code: string } }).error.code, 'unsupported_media_type')
    })

    await t.test('a body over the limit is 413 payload_too_large, before auth or parsing', async (t) => {
      const r = await call(api.app, 'POST', '/v1/merchants', w.operator, { name: 'x'.repeat(4000) })
      t.equal(r.status, 413)
      t.equal(r.body.error.code, 'payload_too_large')
      // the log upload route has its own, larger limit
      const ok = await call(api.app, 'POST', `/v1/wallets/${w.walletId}/log`, w.walletKey, {
        tokens: [Buffer.from('x'.repeat(3000)).toString('base64url')],
      })
      t.equal(ok.status, 200)
    })

    await t.test('a schema mismatch is 400 invalid_request with the paths at fault', async (t) => {
      const r = await call(api.app, 'POST', '/v1/wallets', w.operator, {
        publicKey: 'AA',
        phone: 'not-a-phone',
      })
      t.equal(r.status, 400)
      t.equal(r.body.error.code, 'invalid_request')
      t.ok(r.body.error.issues.some((i: { path: string }) => i.path === 'phone'))
    })

    await t.test('unknown routes are 404 not_found', async (t) => {
      const r = await call(api.app, 'GET', '/v1/nothing-here', w.operator)
      t.equal(r.status, 404)
      t.equal(r.body.error.code, 'not_found')
    })

    await t.test('an internal failure is 500 with no message or stack of its own', async (t) => {
      api.reconciler.walletHistory = async () => {
        throw new Error('connection to 10.0.0.7 refused at secret-host')
      }
      const r = await call(api.app, 'GET', `/v1/wallets/${w.walletId}/history`, w.walletKey)
      t.equal(r.status, 500)
      t.same(r.body, { error: { code: 'internal', message: 'internal error' } })
      t.notMatch(JSON.stringify(r.body), /secret-host|at |\.ts/)
    })

    await t.test('a role without access is 403 forbidden', async (t) => {
      const r = await call(api.app, 'GET', '/v1/keys', w.walletKey)
      t.equal(r.status, 403)
      t.equal(r.body.error.code, 'forbidden')
    })

    await t.test('the OpenAPI document lists the routes and needs no key', async (t) => {
      const r = await call(api.app, 'GET', '/openapi.json', null)
      t.equal(r.status, 200)
      t.equal(r.body.openapi, '3.1.0')
      t.ok(r.body.paths['/v1/wallets/{walletId}/purses'].post)
      t.ok(r.body.components.securitySchemes.apiKey)
    })
  })
})
