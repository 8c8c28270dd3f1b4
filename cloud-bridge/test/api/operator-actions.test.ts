/**
 * Revoking a box and suspending a tenant through the API: operator keys only, idempotent (a repeat changes
 * nothing and is not audited again), audited with the acting key, scoped to the caller's tenant, and with
 * their effects on credentials (a revoked box's device key stops; a suspended tenant's keys all stop).
 */
import t from 'tap'
import { forEachDatabase } from '../support/databases.js'
import { call, makeApi, makeWorld } from './support.js'

t.test('revoke a box and suspend a tenant', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    const api = makeApi(db)
    const a = await makeWorld(api, 'tenant A')
    const b = await makeWorld(api, 'tenant B')
    const revoke = (key: string, deviceId = a.deviceId) =>
      call(api.app, 'POST', `/v1/devices/${deviceId}/revoke`, key, { reason: 'stolen from the stall' })

    await t.test('only an operator of the box’s tenant may revoke it', async (t) => {
      t.equal((await revoke(a.merchantKey)).status, 403, 'merchant key')
      t.equal((await revoke(a.deviceKey)).status, 403, 'the box’s own key')
      t.equal((await revoke(a.walletKey)).status, 403, 'wallet key')
      t.equal((await revoke(b.operator)).status, 404, 'another tenant’s operator: as if it did not exist')
      t.equal((await call(api.app, 'POST', `/v1/devices/${a.deviceId}/revoke`, null, {})).status, 401)
      const dev = await call(api.app, 'GET', `/v1/devices/${a.deviceId}`, a.operator)
      t.equal(dev.body.revoked, false, 'nothing changed')
    })

    await t.test('revoke: once, then idempotent; audited once; the box’s key stops', async (t) => {
      const first = await revoke(a.operator)
      t.equal(first.status, 200)
      t.match(first.body, {
        deviceId: a.deviceId,
        revoked: true,
        reason: 'stolen from the stall',
        changed: true,
      })
      api.now = new Date(api.now.getTime() + 60_000)
      const again = await revoke(a.operator)
      t.equal(again.status, 200)
      t.match(again.body, { changed: false, revokedAt: first.body.revokedAt }, 'same revocation, same time')
      const dev = await call(api.app, 'GET', `/v1/devices/${a.deviceId}`, a.operator)
      t.equal(dev.body.revoked, true)
      t.equal(
        (await call(api.app, 'GET', `/v1/devices/${a.deviceId}`, a.deviceKey)).status,
        401,
        'key stopped',
      )
      // The log also holds the keys the setup created; these are the box's entries.
      const boxEntries = (r: { body: { entries: { action: string }[] } }) =>
        r.body.entries.filter((e) => e.action.startsWith('device.'))
      const audit = await call(api.app, 'GET', '/v1/audit', a.operator)
      t.equal(audit.status, 200)
      t.match(boxEntries(audit), [
        {
          action: 'device.revoke',
          subjectId: a.deviceId,
          actorKeyId: a.operator.split('_')[1],
          actorRole: 'operator',
          detail: { reason: 'stolen from the stall', apiKeysRevoked: 1 },
        },
      ])
      t.equal(boxEntries(audit).length, 1, 'the repeat is not audited')
      t.equal(boxEntries(await call(api.app, 'GET', '/v1/audit', b.operator)).length, 0, 'B sees none')
      t.equal((await call(api.app, 'GET', '/v1/audit', a.merchantKey)).status, 403)
      t.equal((await revoke(a.operator, '00000000000000ff')).status, 404, 'unknown box')
    })

    await t.test('suspend: operator only; every key of the tenant stops; B untouched', async (t) => {
      const suspend = (key: string) =>
        call(api.app, 'POST', '/v1/tenant/suspend', key, { reason: 'fraud review' })
      t.equal((await suspend(a.merchantKey)).status, 403)
      t.equal((await suspend(a.walletKey)).status, 403)
      const r = await suspend(a.operator)
      t.equal(r.status, 200)
      t.match(r.body, { status: 'suspended', changed: true })
      for (const key of [a.operator, a.merchantKey, a.walletKey]) {
        t.equal((await call(api.app, 'GET', '/v1/tenant', key)).status, 401, 'A keys stop')
      }
      t.equal((await call(api.app, 'GET', '/v1/tenant', b.operator)).status, 200, 'B keeps working')
      const rows = await db.query<{ status: string; suspended_reason: string }>(
        'SELECT status, suspended_reason FROM tenants WHERE id = $1',
        [a.tenantId],
      )
      t.same(rows.rows[0], { status: 'suspended', suspended_reason: 'fraud review' })
      const audit = await db.query<{ action: string; actor: string }>(
        "SELECT action, actor_key_id AS actor FROM audit_log WHERE tenant_id = $1 AND action LIKE 'tenant.%'",
        [a.tenantId],
      )
      t.same(audit.rows, [{ action: 'tenant.suspend', actor: a.operator.split('_')[1] }])
    })

    await t.test(
      'the platform resumes it (setTenantStatus, as `opg-bridge tenant resume` does)',
      async (t) => {
        const { setTenantStatus } = await import('../../src/fleet/operator-actions.js')
        const again = await setTenantStatus(db, a.tenantId, 'suspended', {
          actor: null,
          reason: null,
          now: api.now,
        })
        t.equal(again.changed, false, 'suspending twice changes nothing')
        const r = await setTenantStatus(db, a.tenantId, 'active', { actor: null, reason: null, now: api.now })
        t.equal(r.changed, true)
        t.equal((await call(api.app, 'GET', '/v1/tenant', a.operator)).status, 200, 'keys work again')
        const audit = await call(api.app, 'GET', '/v1/audit', a.operator)
        t.same(
          audit.body.entries
            .filter((e: { action: string }) => /^(tenant|device)\./.test(e.action))
            .map((e: { action: string; actorKeyId: string | null }) => [e.action, e.actorKeyId]),
          [
            ['tenant.resume', null],
            ['tenant.suspend', a.operator.split('_')[1]],
            ['device.revoke', a.operator.split('_')[1]],
          ],
        )
      },
    )
  })
})
