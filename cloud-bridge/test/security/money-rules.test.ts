/**
 * Money rules of the API, on both engines: merchant-scoped keys see only their merchant's invoices, a payout
 * bank account changes only by the operator and is audited, currencies are bound, idempotency keys belong to
 * their caller, top-ups have daily limits by the database clock, and input the database refuses is a typed
 * 4xx (NUL characters, duplicate references).
 */
import t from 'tap'
import { call, makeWorld, type TestApi, testKey } from '../api/support.js'
import { forEachDatabase } from '../support/databases.js'
import { makeOnlineApi } from './support.js'

let n = 0
const unique = (s: string) => `${s}-${process.pid}-${++n}`

async function secondMerchant(api: TestApi, operator: string) {
  const m = await call(api.app, 'POST', '/v1/merchants', operator, { name: 'A2 shop' })
  const d = await call(api.app, 'POST', `/v1/merchants/${m.body.merchant.id}/devices`, operator, {
    label: 'A2 till',
  })
  return { merchantId: m.body.merchant.id, merchantKey: m.body.apiKey.key, deviceKey: d.body.apiKey.key }
}

const topUp = (api: TestApi, walletId: string, key: string, amount: number, idem: string, extra = {}) =>
  call(api.app, 'POST', `/v1/wallets/${walletId}/topups`, key, {
    amount,
    currency: 'EUR',
    cardToken: 'tok_visa',
    idempotencyKey: idem,
    ...extra,
  })

forEachDatabase(t, async (t, db) => {
  t.test('a box or merchant key sees only its own merchant’s invoices and payments', async (t) => {
    const api = makeOnlineApi(t, db)
    const w = await makeWorld(api, unique('scope'))
    const a2 = await secondMerchant(api, w.operator)
    const inv = await call(api.app, 'POST', '/v1/invoices', w.deviceKey, {
      reference: 'INV-A-1',
      amount: 500,
      currency: 'EUR',
    })
    t.equal(inv.status, 201)
    const path = `/v1/invoices/${inv.body.id}`
    t.equal(
      (await call(api.app, 'GET', path, a2.deviceKey)).status,
      404,
      'the box of merchant A2 cannot read it',
    )
    t.equal((await call(api.app, 'GET', path, a2.merchantKey)).status, 404, 'nor can merchant A2')
    t.equal((await call(api.app, 'GET', path, w.deviceKey)).status, 200, 'its own box can')
    t.equal((await call(api.app, 'GET', path, w.merchantKey)).status, 200, 'its merchant can')
    t.equal((await call(api.app, 'GET', path, w.walletKey)).status, 200, 'a wallet reads it to pay it')
    await topUp(api, w.walletId, w.walletKey, 1000, 'scope-topup-1')
    const pay = await call(api.app, 'POST', `${path}/payments`, w.walletKey, {
      method: 'wallet',
      idempotencyKey: 'scope-pay-1',
    })
    t.equal(pay.status, 201)
    const pp = `/v1/online-payments/${pay.body.id}`
    t.equal(
      (await call(api.app, 'GET', pp, a2.merchantKey)).status,
      404,
      'merchant A2 cannot read the payment',
    )
    t.equal((await call(api.app, 'GET', pp, a2.deviceKey)).status, 404)
    t.equal((await call(api.app, 'GET', pp, w.merchantKey)).status, 200)
  })

  t.test('the payout bank account changes only by the operator, and every change is audited', async (t) => {
    const api = makeOnlineApi(t, db)
    const w = await makeWorld(api, unique('bank'))
    const path = `/v1/merchants/${w.merchantId}`
    const byMerchant = await call(api.app, 'PATCH', path, w.merchantKey, { bankAccountRef: 'acct_thief' })
    t.equal(byMerchant.status, 403, 'a (stolen) merchant key cannot redirect payouts')
    t.equal((await call(api.app, 'PATCH', path, w.merchantKey, { phone: '+4915112345670' })).status, 200)
    t.equal((await call(api.app, 'PATCH', path, w.operator, { bankAccountRef: 'acct_1' })).status, 200)
    t.equal((await call(api.app, 'PATCH', path, w.operator, { bankAccountRef: 'acct_2' })).status, 200)
    const log = await call(api.app, 'GET', '/v1/audit', w.operator)
    t.equal(log.status, 200)
    const changes = log.body.entries.filter(
      (e: { action: string }) => e.action === 'merchant.bank_account_changed',
    )
    t.same(
      changes.map((e: { detail: unknown; actorRole: string; subjectId: string }) => [
        e.subjectId,
        e.actorRole,
        e.detail,
      ]),
      [
        [w.merchantId, 'operator', { from: 'acct_1', to: 'acct_2' }],
        [w.merchantId, 'operator', { from: null, to: 'acct_1' }],
      ],
    )
    t.equal(
      (await call(api.app, 'GET', '/v1/audit', w.merchantKey)).status,
      403,
      'only the operator reads it',
    )
  })

  t.test('currencies are ISO 4217 and bound to the tenant, wallet and invoice', async (t) => {
    const api = makeOnlineApi(t, db)
    const w = await makeWorld(api, unique('ccy'))
    const inv = (currency: string) =>
      call(api.app, 'POST', '/v1/invoices', w.merchantKey, { reference: unique('R'), amount: 100, currency })
    t.equal((await inv('XYZ')).body.error.code, 'invalid_request', 'not a currency')
    const usd = await inv('USD')
    t.equal(usd.status, 422)
    t.equal(usd.body.error.code, 'currency_mismatch', 'an EUR tenant issues no USD invoice')
    const top = await topUp(api, w.walletId, w.walletKey, 100, 'ccy-topup-1', { currency: 'USD' })
    t.equal(top.body.error.code, 'currency_mismatch', 'an EUR wallet takes no USD top-up')
    const wallet = await call(api.app, 'POST', '/v1/wallets', w.operator, {
      publicKey: testKey(),
      phone: '+4915112345671',
      currency: 'USD',
    })
    t.equal(wallet.body.error.code, 'currency_mismatch', 'no USD wallet in an EUR tenant')
    const tr = await call(api.app, 'POST', `/v1/wallets/${w.walletId}/transfers`, w.walletKey, {
      merchantId: w.merchantId,
      amount: 100,
      currency: 'GBP',
      idempotencyKey: 'ccy-transfer-1',
    })
    t.equal(tr.body.error.code, 'currency_mismatch')
  })

  t.test('idempotency keys belong to the caller and to the request', async (t) => {
    const api = makeOnlineApi(t, db)
    const w = await makeWorld(api, unique('idem'))
    const other = await call(api.app, 'POST', '/v1/wallets', w.operator, {
      publicKey: testKey(),
      phone: '+4915112345672',
    })
    const mine = await topUp(api, w.walletId, w.walletKey, 700, 'shared-key-1')
    const theirs = await topUp(api, other.body.wallet.id, other.body.apiKey.key, 700, 'shared-key-1')
    t.equal(mine.status, 201)
    t.equal(theirs.status, 201, 'another caller’s key is not a conflict')
    t.not(theirs.body.id, mine.body.id, 'and never returns someone else’s payment')
    t.equal(theirs.body.walletId, other.body.wallet.id)
    const again = await topUp(api, w.walletId, w.walletKey, 700, 'shared-key-1')
    t.equal(again.body.id, mine.body.id, 'the same request replays')
    const changed = await topUp(api, w.walletId, w.walletKey, 900, 'shared-key-1')
    t.equal(changed.status, 409)
    t.equal(changed.body.error.code, 'idempotency_conflict', 'the same key with another body is refused')
  })

  t.test('daily top-up limits per wallet and per tenant, by the database clock', async (t) => {
    const api = makeOnlineApi(t, db)
    const w = await makeWorld(api, unique('limit'))
    const other = await call(api.app, 'POST', '/v1/wallets', w.operator, {
      publicKey: testKey(),
      phone: '+4915112345673',
    })
    const ow = { id: other.body.wallet.id, key: other.body.apiKey.key }
    const defaults = await call(api.app, 'GET', '/v1/tenant/limits', w.operator)
    t.same(
      defaults.body,
      { topupPerWalletDaily: 1_000_000, topupPerTenantDaily: 100_000_000 },
      'documented defaults',
    )
    const set = await call(api.app, 'PUT', '/v1/tenant/limits', w.operator, {
      topupPerWalletDaily: 5000,
      topupPerTenantDaily: 8000,
    })
    t.same(set.body, { topupPerWalletDaily: 5000, topupPerTenantDaily: 8000 })
    t.equal((await call(api.app, 'PUT', '/v1/tenant/limits', w.walletKey, set.body)).status, 403)
    t.equal((await topUp(api, w.walletId, w.walletKey, 3000, 'topup-lim-1')).status, 201)
    const declined = await topUp(api, w.walletId, w.walletKey, 2000, 'topup-lim-declined', {
      cardToken: 'tok_card_declined',
    })
    t.equal(declined.status, 402, 'a declined card…')
    t.equal((await topUp(api, w.walletId, w.walletKey, 2000, 'topup-lim-2')).status, 201, '…does not count')
    const over = await topUp(api, w.walletId, w.walletKey, 1, 'topup-lim-3')
    t.equal(over.status, 422)
    t.equal(over.body.error.code, 'topup_limit_exceeded', 'the wallet is at its 5000')
    t.equal((await topUp(api, ow.id, ow.key, 3000, 'topup-lim-4')).status, 201, 'another wallet still may')
    const tenantOver = await topUp(api, ow.id, ow.key, 1, 'topup-lim-5')
    t.equal(tenantOver.body.error.code, 'topup_limit_exceeded', 'the tenant is at its 8000')
    await db.query(
      `UPDATE online_payments SET created_at = now() - interval '25 hours' WHERE wallet_id = $1 AND kind = 'topup'`,
      [w.walletId],
    )
    t.equal(
      (await topUp(api, w.walletId, w.walletKey, 5000, 'topup-lim-6')).status,
      201,
      'a day later: room again',
    )
    const audit = await call(api.app, 'GET', '/v1/audit', w.operator)
    t.ok(
      audit.body.entries.some((e: { action: string }) => e.action === 'limits.set'),
      'limit changes audited',
    )
  })

  t.test('what the database refuses is a typed 4xx: NUL characters, duplicates', async (t) => {
    const api = makeOnlineApi(t, db)
    const w = await makeWorld(api, unique('typed'))
    const nulName = await call(api.app, 'POST', '/v1/merchants', w.operator, { name: 'bad\u0000name' })
    t.equal(nulName.status, 400)
    t.equal(nulName.body.error.code, 'invalid_request')
    const nulLabel = await call(api.app, 'POST', '/v1/keys', w.operator, {
      role: 'operator',
      label: '\u0000',
    })
    t.equal(nulLabel.body.error.code, 'invalid_request')
    const nulRef = await call(api.app, 'POST', `/v1/wallets/${w.walletId}/credit`, w.operator, {
      amount: 5,
      ref: 'x\u0000',
    })
    t.equal(nulRef.body.error.code, 'invalid_request')
    const body = { reference: 'INV-DUP', amount: 100, currency: 'EUR' }
    t.equal((await call(api.app, 'POST', '/v1/invoices', w.merchantKey, body)).status, 201)
    const dup = await call(api.app, 'POST', '/v1/invoices', w.merchantKey, body)
    t.equal(dup.status, 409)
    t.equal(dup.body.error.code, 'duplicate_reference')
    const pk = testKey()
    const first = await call(api.app, 'POST', '/v1/wallets', w.operator, {
      publicKey: pk,
      phone: '+4915112345674',
    })
    t.equal(first.status, 201)
    const again = await call(api.app, 'POST', '/v1/wallets', w.operator, {
      publicKey: pk,
      phone: '+4915112345674',
    })
    t.equal(again.status, 409, 'a second wallet with one public key is a conflict, not a 500')
    const tenantName = await call(api.app, 'GET', '/v1/tenant', w.operator)
    t.equal(tenantName.status, 200)
  })
})
