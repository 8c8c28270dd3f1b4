/**
 * Operator commands to one box — sync now, a config override, revoke — from the API and from the console's box
 * page: each is sealed with the box's key and the next seq (the test opens what reached the link with the
 * box's key), audited with the acting key, typed as money in the tenant's currency, refused for another
 * tenant's box and for a revoked one. On PGlite and PostgreSQL; the link is an in-memory publisher.
 */
import { type Command, CommandSchema, deriveKey, id8ToBytes, openMqtt } from '@opg/protocol'
import { nodeBackend as c } from '@opg/protocol/node'
import t from 'tap'
import type { Db } from '../../src/db/types.js'
import { BoxCommands } from '../../src/fleet/box-commands.js'
import { deviceSecret } from '../../src/fleet/devices.js'
import { MasterKey } from '../../src/issuer/master-key.js'
import { call, makeApi, makeWorld, type World } from '../api/support.js'
import { forEachDatabase } from '../support/databases.js'
import { signedIn } from './support.js'

async function rig(db: Db) {
  const sealer = new MasterKey(c, c.randomBytes(16))
  const sent: { topic: string; payload: Uint8Array }[] = []
  const commands = new BoxCommands({
    db,
    c,
    sealer,
    pollMs: 0,
    link: { publish: async (topic, payload) => void sent.push({ topic, payload }) },
  })
  const api = makeApi(db, { sealer, boxCommands: commands })
  const a = await makeWorld(api, 'alpha')
  const b = await makeWorld(api, 'beta')
  /** What box `w` received, opened with its own key. */
  const inbox = async (w: World): Promise<Command[]> => {
    const secret = await deviceSecret(db, sealer, w.tenantId, w.deviceId)
    const key = deriveKey(c, secret!, 'mqtt', id8ToBytes(w.deviceId))
    return sent
      .filter((s) => s.topic === `opg/v1/${w.tenantId}/${w.deviceId}/down/cmd`)
      .map((s) => openMqtt(c, key, s.topic, CommandSchema, s.payload))
  }
  const audit = async (w: World) =>
    (
      await db.query<{ action: string; actor_key_id: string | null }>(
        "SELECT action, actor_key_id FROM audit_log WHERE tenant_id = $1 AND action LIKE 'device.%' ORDER BY id",
        [w.tenantId],
      )
    ).rows
  return { api, a, b, sent, inbox, audit }
}

t.test('operator commands over the API', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    const { api, a, b, inbox, audit } = await rig(db)
    const sync = await call(api.app, 'POST', `/v1/devices/${a.deviceId}/sync-now`, a.operator)
    t.equal(sync.status, 202)
    t.same(sync.body, { deviceId: a.deviceId, type: 'sync_now', sent: true, online: false })
    const cfg = await call(api.app, 'POST', `/v1/devices/${a.deviceId}/config`, a.operator, {
      config: { exposure: { maxUnsyncedTotal: 20_000 }, log: { level: 'debug' } },
    })
    t.equal(cfg.status, 202)
    const got = await inbox(a)
    t.match(got, [
      { type: 'sync_now' },
      { type: 'config', config: { exposure: { maxUnsyncedTotal: 20_000 }, log: { level: 'debug' } } },
    ])
    t.ok(got[1]!.seq > got[0]!.seq, 'each command above the one before')

    // A second override of another field: the command carries the whole override, so it stands alone.
    const more = await call(api.app, 'POST', `/v1/devices/${a.deviceId}/config`, a.operator, {
      config: { exposure: { maxPerWalletPerDay: 500 } },
    })
    t.match(more.body, {
      config: { exposure: { maxUnsyncedTotal: 20_000, maxPerWalletPerDay: 500 }, log: { level: 'debug' } },
    })
    t.match((await inbox(a))[2], {
      type: 'config',
      config: { exposure: { maxUnsyncedTotal: 20_000, maxPerWalletPerDay: 500 }, log: { level: 'debug' } },
    })

    const bad = await call(api.app, 'POST', `/v1/devices/${a.deviceId}/config`, a.operator, {
      config: { mqtt: { url: 'mqtt://evil.example:1883' } },
    })
    t.equal(bad.status, 400, 'a field the bridge may not change is refused before sealing')
    t.equal(
      (await call(api.app, 'POST', `/v1/devices/${b.deviceId}/sync-now`, a.operator)).status,
      404,
      "another tenant's box does not exist",
    )
    t.equal((await call(api.app, 'POST', `/v1/devices/${a.deviceId}/sync-now`, a.merchantKey)).status, 403)
    t.equal((await inbox(a)).length, 3, 'nothing more was sent')
    t.equal((await inbox(b)).length, 0)

    await call(api.app, 'POST', `/v1/devices/${a.deviceId}/revoke`, a.operator, { reason: 'stolen' })
    const revoked = await call(api.app, 'POST', `/v1/devices/${a.deviceId}/sync-now`, a.operator)
    t.equal(revoked.status, 409)
    t.equal(revoked.body.error.code, 'device_revoked')
    const keyId = a.operator.split('_')[1]
    t.same(
      (await audit(a)).map((r) => [r.action, r.actor_key_id]),
      [
        ['device.sync_now', keyId],
        ['device.config', keyId],
        ['device.config', keyId],
        ['device.revoke', keyId],
      ],
      'every command audited with the acting key',
    )
  })
})

t.test('operator commands from the console box page', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    const { api, a, b, inbox, audit } = await rig(db)
    const { b: page } = await signedIn(api.app, a.operator)
    const path = `/console/boxes/${a.deviceId}`
    const html = await (await page.get(path)).text()
    t.match(html, 'Sync now')
    t.match(html, 'Most unsynced money in total (EUR)', 'limits typed in the tenant currency')
    const csrf = await page.csrf(path)

    t.equal((await page.post(`${path}/sync-now`, {})).status, 403, 'no form token: refused')
    const sync = await page.post(`${path}/sync-now`, { csrf })
    t.equal(sync.status, 303)
    t.equal(sync.headers.get('location'), `${path}?done=sync_now_offline`)
    t.match(await (await page.get(sync.headers.get('location')!)).text(), 'does it when it reconnects')

    const comma = await page.post(`${path}/config`, { csrf, maxUnsyncedTotal: '250,00' })
    t.equal(comma.status, 400)
    t.match(await comma.text(), 'Not an amount in EUR')
    t.equal((await page.post(`${path}/config`, { csrf })).status, 400, 'an empty form changes nothing')
    const cfg = await page.post(`${path}/config`, {
      csrf,
      maxUnsyncedTotal: '250.00',
      maxPerWalletPerDay: '',
      logLevel: 'warn',
    })
    t.equal(cfg.status, 303)
    t.match(await inbox(a), [
      { type: 'sync_now' },
      { type: 'config', config: { exposure: { maxUnsyncedTotal: 25_000 }, log: { level: 'warn' } } },
    ])
    t.equal((await inbox(a)).length, 2, 'refused forms sent nothing')

    const other = await page.post(`/console/boxes/${b.deviceId}/sync-now`, { csrf })
    t.equal(other.status, 404, "another tenant's box")
    t.equal((await inbox(b)).length, 0)

    t.equal((await page.post(`${path}/revoke`, { csrf, reason: 'stolen' })).status, 400, 'must tick the box')
    const rev = await page.post(`${path}/revoke`, { csrf, reason: 'stolen from the market', confirm: 'yes' })
    t.equal(rev.status, 303)
    const after = await (await page.get(rev.headers.get('location')!)).text()
    t.match(after, 'The box is revoked')
    t.notMatch(after, 'Sync now', 'no commands for a revoked box')
    const dev = await call(api.app, 'GET', `/v1/devices/${a.deviceId}`, a.operator)
    t.match(dev.body, { revoked: true }, 'revoked through the API’s own path')
    t.same(
      (await audit(a)).map((r) => r.action),
      ['device.sync_now', 'device.config', 'device.revoke'],
    )

    const merchant = await signedIn(api.app, a.merchantKey)
    const csrfM = await merchant.b.csrf('/console/shop')
    t.equal((await merchant.b.post(`${path}/sync-now`, { csrf: csrfM })).status, 404, 'not for merchants')
  })
})
