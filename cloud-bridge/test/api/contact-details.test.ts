/**
 * The contact details that route notices: a merchant's phone (readable payment SMS) and payout account, and a
 * box's modem number (OPG1 PAID SMS while it is offline). Who may set them, and that they are validated.
 */
import t from 'tap'
import { forEachDatabase } from '../support/databases.js'
import { call, makeApi, makeWorld } from './support.js'

t.test('contact details', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    const api = makeApi(db)
    const w = await makeWorld(api, 'contacts')
    // A merchant sets its phone; the payout account is the operator's to change (audited, test/security).
    const own = await call(api.app, 'PATCH', `/v1/merchants/${w.merchantId}`, w.merchantKey, {
      phone: '+15550001111',
    })
    t.equal(own.status, 200)
    const payout = { bankAccountRef: 'acct_123' }
    t.equal(
      (await call(api.app, 'PATCH', `/v1/merchants/${w.merchantId}`, w.merchantKey, payout)).status,
      403,
    )
    const m = await call(api.app, 'PATCH', `/v1/merchants/${w.merchantId}`, w.operator, payout)
    t.equal(m.status, 200)
    t.match(m.body, { phone: '+15550001111', bankAccountRef: 'acct_123' })
    const cleared = await call(api.app, 'PATCH', `/v1/merchants/${w.merchantId}`, w.operator, { phone: null })
    t.match(cleared.body, { phone: null, bankAccountRef: 'acct_123' }, 'only the named field changes')
    t.equal(
      (await call(api.app, 'PATCH', `/v1/merchants/${w.merchantId}`, w.operator, { phone: '5550' })).status,
      400,
    )
    t.equal((await call(api.app, 'PATCH', `/v1/merchants/${w.merchantId}`, w.operator, {})).status, 400)
    t.equal(
      (await call(api.app, 'PATCH', `/v1/merchants/${w.merchantId}`, w.walletKey, { phone: null })).status,
      403,
    )

    const d = await call(api.app, 'PATCH', `/v1/devices/${w.deviceId}`, w.deviceKey, {
      modemNumber: '+15550002222',
    })
    t.equal(d.status, 200)
    t.equal(d.body.modemNumber, '+15550002222')
    const row = await db.query<{ modem_number: string }>('SELECT modem_number FROM devices WHERE id = $1', [
      w.deviceId,
    ])
    t.equal(row.rows[0]?.modem_number, '+15550002222', 'stored where the notices read it')
    t.equal(
      (await call(api.app, 'GET', `/v1/devices/${w.deviceId}`, w.operator)).body.modemNumber,
      '+15550002222',
    )
  })
})
