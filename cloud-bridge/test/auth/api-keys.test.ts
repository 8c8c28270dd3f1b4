import t from 'tap'
import { authenticate, createApiKey, listApiKeys, revokeApiKey } from '../../src/auth/api-keys.js'
import { createTenant } from '../../src/tenants/tenants.js'
import { call, makeApi } from '../api/support.js'
import { forEachDatabase } from '../support/databases.js'

/** The secret part of `opg_<id>_<secret>` — base64url, so it may itself contain '_'. */
const secretOf = (key: string): string => key.slice('opg_'.length + 16 + 1)

t.test('API keys', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    const { tenant, operatorKey } = await createTenant(db, 'keys', 'EUR')

    await t.test('a key resolves to its tenant and role; only its hash is stored', async (t) => {
      t.match(operatorKey.key, /^opg_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/)
      t.same(await authenticate(db, operatorKey.key), {
        tenantId: tenant.id,
        role: 'operator',
        subjectId: null,
        keyId: operatorKey.id,
      })
      const rows = await db.query<Record<string, unknown>>('SELECT * FROM api_keys WHERE id = $1', [
        operatorKey.id,
      ])
      t.notOk(
        JSON.stringify(rows.rows, (_k, v) =>
          v instanceof Uint8Array ? Buffer.from(v).toString('base64url') : v,
        ).includes(secretOf(operatorKey.key)),
      )
    })

    await t.test('a wrong secret, a malformed key and an unknown id fail', async (t) => {
      const id = operatorKey.key.split('_')[1]
      const secret = secretOf(operatorKey.key)
      const flipped = `opg_${id}_${secret[0] === 'A' ? 'B' : 'A'}${secret.slice(1)}`
      t.equal(await authenticate(db, flipped), null)
      t.equal(await authenticate(db, 'opg_zz_zz'), null)
      t.equal(await authenticate(db, `opg_0000000000000000_${secret}`), null)
    })

    await t.test('operator keys have no subject; others must', async (t) => {
      await t.rejects(createApiKey(db, tenant.id, 'operator', '0000000000000001'))
      await t.rejects(createApiKey(db, tenant.id, 'wallet', null))
    })

    await t.test('revoked keys stop working and are listed as revoked', async (t) => {
      const api = makeApi(db)
      const k = await call(api.app, 'POST', '/v1/keys', operatorKey.key, {
        role: 'operator',
        label: 'second',
      })
      t.equal(k.status, 201)
      t.equal((await call(api.app, 'GET', '/v1/tenant', k.body.key)).status, 200)
      t.equal((await call(api.app, 'DELETE', `/v1/keys/${k.body.id}`, operatorKey.key)).status, 200)
      t.equal((await call(api.app, 'GET', '/v1/tenant', k.body.key)).status, 401)
      t.equal(await revokeApiKey(db, tenant.id, k.body.id), false, 'revoking twice finds nothing')
      const list = await listApiKeys(db, tenant.id)
      t.ok(list.find((x) => x.id === k.body.id)?.revokedAt)
      const listed = await call(api.app, 'GET', '/v1/keys', operatorKey.key)
      t.notOk(JSON.stringify(listed.body).includes(k.body.key), 'listing never shows a secret')
    })

    await t.test('a suspended tenant’s keys stop working', async (t) => {
      const other = await createTenant(db, 'suspended', 'EUR')
      t.ok(await authenticate(db, other.operatorKey.key))
      await db.query("UPDATE tenants SET status = 'suspended' WHERE id = $1", [other.tenant.id])
      t.equal(await authenticate(db, other.operatorKey.key), null)
      t.ok(await authenticate(db, operatorKey.key), 'other tenants are unaffected')
    })

    await t.test('tenant names are unique', async (t) => {
      await t.rejects(createTenant(db, 'keys', 'EUR'), { code: 'conflict' })
    })
  })
})
