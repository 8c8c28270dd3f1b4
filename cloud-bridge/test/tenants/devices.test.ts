import t from 'tap'
import { deviceSecret, recordDeviceStatus } from '../../src/fleet/devices.js'
import { call, makeApi, makeWorld, testKey } from '../api/support.js'
import { forEachDatabase } from '../support/databases.js'

t.test('merchants, devices and the fleet view', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    const api = makeApi(db)
    const w = await makeWorld(api, 'fleet')

    await t.test('a merchant registers its own box and gets the device secret once', async (t) => {
      const r = await call(api.app, 'POST', `/v1/merchants/${w.merchantId}/devices`, w.merchantKey, {
        label: 'till 2',
      })
      t.equal(r.status, 201)
      t.match(r.body.device, { merchantId: w.merchantId, label: 'till 2', certified: false, online: false })
      t.match(r.body.deviceSecret, /^[0-9a-f]{32}$/)
      const again = await call(api.app, 'GET', `/v1/devices/${r.body.device.id}`, w.merchantKey)
      t.notOk(JSON.stringify(again.body).includes(r.body.deviceSecret), 'the secret is never shown again')
    })

    await t.test('the box gets a node certificate over its keys, with the issuer keyring', async (t) => {
      const signingKey = testKey()
      const encryptionKey = testKey()
      const r = await call(api.app, 'POST', `/v1/devices/${w.deviceId}/certificate`, w.deviceKey, {
        signingKey,
        encryptionKey,
      })
      t.equal(r.status, 200)
      const signed = api.issuer.signed.at(-1)!
      t.match(signed.fields, {
        tenantId: w.tenantId,
        merchantId: w.merchantId,
        deviceId: w.deviceId,
        signingKey: Buffer.from(signingKey, 'base64url').toString('hex'),
        encryptionKey: Buffer.from(encryptionKey, 'base64url').toString('hex'),
      })
      const ring = await api.issuer.keyring(w.tenantId)
      t.same(
        r.body.issuerKeys,
        [...ring].map(([keyId, pub]) => ({ keyId, publicKey: Buffer.from(pub).toString('base64url') })),
      )
      t.equal(r.body.issuerKeyId, [...ring.keys()][0])
      const d = await call(api.app, 'GET', `/v1/devices/${w.deviceId}`, w.operator)
      t.equal(d.body.certified, true)
    })

    await t.test('a revoked box gets no certificate', async (t) => {
      const r = await call(api.app, 'POST', `/v1/merchants/${w.merchantId}/devices`, w.operator, {
        label: 'old',
      })
      await db.query('UPDATE devices SET revoked_at = now() WHERE tenant_id = $1 AND id = $2', [
        w.tenantId,
        r.body.device.id,
      ])
      const c = await call(api.app, 'POST', `/v1/devices/${r.body.device.id}/certificate`, w.operator, {
        signingKey: testKey(),
        encryptionKey: testKey(),
      })
      t.equal(c.status, 403)
      t.equal((await call(api.app, 'GET', `/v1/devices/${r.body.device.id}`, w.operator)).body.revoked, true)
    })

    await t.test('keys that are not 32 bytes are refused', async (t) => {
      const r = await call(api.app, 'POST', `/v1/devices/${w.deviceId}/certificate`, w.deviceKey, {
        signingKey: Buffer.alloc(31).toString('base64url'),
        encryptionKey: testKey(),
      })
      t.equal(r.status, 400)
    })

    await t.test('status reports feed the fleet view', async (t) => {
      const at = new Date('2026-11-27T10:00:00Z')
      t.ok(
        await recordDeviceStatus(db, w.tenantId, w.deviceId, {
          online: true,
          pendingCount: 7,
          receivedAt: at,
        }),
      )
      t.notOk(
        await recordDeviceStatus(db, '00000000000000ff', w.deviceId, {
          online: true,
          pendingCount: 1,
          receivedAt: at,
        }),
      )
      const f = await call(api.app, 'GET', '/v1/fleet', w.merchantKey)
      const dev = f.body.devices.find((d: { id: string }) => d.id === w.deviceId)
      t.match(dev, { online: true, pendingCount: 7, lastSeenAt: at.toISOString() })
      await recordDeviceStatus(db, w.tenantId, w.deviceId, {
        online: false,
        pendingCount: 7,
        receivedAt: new Date(),
      })
      const f2 = await call(api.app, 'GET', '/v1/fleet', w.operator)
      t.match(
        f2.body.devices.find((d: { id: string }) => d.id === w.deviceId),
        {
          online: false,
          lastSeenAt: at.toISOString(),
        },
      )
    })
  })
})

t.test('device secrets are stored sealed to their row', async (t) => {
  await forEachDatabase(
    t,
    async (t, db) => {
      const api = makeApi(db)
      const w = await makeWorld(api, 'sealed')
      const row = await db.query<{ sealed_secret: Uint8Array }>(
        'SELECT sealed_secret FROM devices WHERE id = $1',
        [w.deviceId],
      )
      t.equal(row.rows[0]!.sealed_secret.length, 16 + 28, 'stored sealed, not in clear')
      const sealer = api.sealer
      const secret = await deviceSecret(db, sealer, w.tenantId, w.deviceId)
      t.equal(secret?.length, 16)
      t.equal(await deviceSecret(db, sealer, w.tenantId, '00000000000000aa'), null)
      const other = await makeWorld(api, 'sealed 2')
      await db.query('UPDATE devices SET sealed_secret = $1 WHERE id = $2', [
        row.rows[0]!.sealed_secret,
        other.deviceId,
      ])
      await t.rejects(
        deviceSecret(db, sealer, other.tenantId, other.deviceId),
        'a secret moved to another row does not open',
      )
    },
    { kinds: ['pglite'] },
  )
})
