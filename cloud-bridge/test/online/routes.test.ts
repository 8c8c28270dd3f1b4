/**
 * Online payments through the running bridge's HTTP API on both engines: invoice QR, card / debit / wallet
 * payment, declined cards, top-ups, QR transfers, payouts, the signed webhook, the SMS to an offline box,
 * and no cross-tenant access.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deriveKey, id8ToBytes, parsePaidSms } from '@opg/protocol'
import { nodeBackend as c } from '@opg/protocol/node'
import t from 'tap'
import { Bridge } from '../../src/bridge.js'
import { loadConfig } from '../../src/config.js'
import { deviceSecret } from '../../src/fleet/devices.js'
import { loadMasterKey } from '../../src/issuer/master-key.js'
import { checkInvariants } from '../../src/ledger/index.js'
import { createLogger } from '../../src/logger.js'
import { signWebhook } from '../../src/online/index.js'
import { call, makeWorld } from '../api/support.js'
import { createTestDb, postgresAvailable } from '../support/databases.js'

const pg = await postgresAvailable()
for (const kind of ['pglite', 'postgres'] as const) {
  t.test(
    `online payments over HTTP (${kind})`,
    { skip: kind === 'postgres' && !pg ? 'no PostgreSQL' : false },
    async (t) => {
      const scratch = await createTestDb(kind)
      if (kind === 'pglite') await scratch.db.close()
      t.teardown(() => (kind === 'postgres' ? scratch.drop() : undefined))
      const dir = mkdtempSync(join(tmpdir(), 'opg-online-'))
      const keyFile = join(dir, 'master.key')
      writeFileSync(keyFile, Buffer.from(c.randomBytes(16)).toString('hex'))
      const webhookSecretFile = join(dir, 'webhook.secret')
      writeFileSync(webhookSecretFile, 'whsec_routes')
      const config = loadConfig({
        env: {
          DATABASE_URL: scratch.url,
          OPG_MASTER_KEY_FILE: keyFile,
          OPG_MODE: 'test',
          OPG_WEBHOOK_SECRET_FILE: webhookSecretFile,
          OPG_HTTP_PORT: '0',
          OPG_MQTT_EMBEDDED_PORT: '0',
          OPG_VERIFY_WORKERS: '0',
          OPG_LOG_LEVEL: 'silent',
        },
      })
      const bridge = new Bridge({ config, logger: createLogger('silent') })
      await bridge.start()
      t.teardown(() => bridge.stop())
      const app = bridge.app
      const api = bridge as unknown as Parameters<typeof makeWorld>[0]
      const w = await makeWorld(api, 'shop')
      const other = await makeWorld(api, 'elsewhere')
      await bridge.db.query('UPDATE devices SET modem_number = $3 WHERE tenant_id = $1 AND id = $2', [
        w.tenantId,
        w.deviceId,
        '+15550009999',
      ])

      const inv = await call(app, 'POST', '/v1/invoices', w.deviceKey, {
        reference: 'INV-1',
        amount: 2500,
        currency: 'EUR',
      })
      t.equal(inv.status, 201, 'the box issues an invoice')
      t.equal(inv.body.qr, `OPGI:${w.tenantId}${inv.body.id}`)
      t.equal(inv.body.deviceId, w.deviceId)

      const stranger = await call(app, 'POST', `/v1/invoices/${inv.body.id}/payments`, other.walletKey, {
        method: 'card',
        cardToken: 'tok_visa',
        idempotencyKey: 'stranger-1',
      })
      t.equal(stranger.status, 404, 'a wallet of another tenant cannot even see the invoice')
      t.equal((await call(app, 'GET', `/v1/invoices/${inv.body.id}`, other.operator)).status, 404)

      const declined = await call(app, 'POST', `/v1/invoices/${inv.body.id}/payments`, w.walletKey, {
        method: 'card',
        cardToken: 'tok_card_declined',
        idempotencyKey: 'pay-inv-1-a',
      })
      t.equal(declined.status, 402)
      t.equal(declined.body.error.code, 'card_declined')

      const paid = await call(app, 'POST', `/v1/invoices/${inv.body.id}/payments`, w.walletKey, {
        method: 'card',
        cardToken: 'tok_visa_debit',
        idempotencyKey: 'pay-inv-1-b',
      })
      t.equal(paid.status, 201)
      t.match(paid.body, { status: 'succeeded', method: 'debit', amount: 2500 })
      const again = await call(app, 'POST', `/v1/invoices/${inv.body.id}/payments`, w.walletKey, {
        method: 'card',
        cardToken: 'tok_visa_debit',
        idempotencyKey: 'pay-inv-1-b',
      })
      t.equal(again.body.id, paid.body.id, 'a double submission is the same payment')

      // The box is offline: its confirmation goes out by SMS, authenticated with the device secret's sms key.
      let boxSms: string | undefined
      for (let i = 0; i < 100 && !boxSms; i++) {
        const list = await call(app, 'GET', '/v1/sandbox/sms', w.operator)
        boxSms = (list.body.messages ?? []).find((m: { to: string }) => m.to === '+15550009999')?.body
        if (!boxSms) await new Promise((r) => setTimeout(r, 50))
      }
      t.ok(boxSms, 'the OPG1 PAID SMS reached the sandbox provider')
      const secret = await deviceSecret(bridge.db, loadMasterKey(c, keyFile), w.tenantId, w.deviceId)
      const smsKey = deriveKey(c, secret!, 'sms', id8ToBytes(w.deviceId))
      t.match(parsePaidSms(c, smsKey, w.deviceId, boxSms!), {
        ref: 'INV-1',
        amount: 2500,
        currency: 'EUR',
        counter: 1,
      })

      const top = await call(app, 'POST', `/v1/wallets/${w.walletId}/topups`, w.walletKey, {
        amount: 10000,
        currency: 'EUR',
        cardToken: 'tok_visa',
        idempotencyKey: 'top-1-aaaa',
      })
      t.equal(top.status, 201)
      const bal = await call(app, 'GET', `/v1/wallets/${w.walletId}/balance`, w.walletKey)
      t.equal(bal.body.available, 10000, 'the top-up is in the wallet')
      t.equal(
        (
          await call(app, 'POST', `/v1/wallets/${other.walletId}/topups`, w.walletKey, {
            amount: 1,
            currency: 'EUR',
            cardToken: 'tok_visa',
            idempotencyKey: 'x-12345678',
          })
        ).status,
        404,
        'a wallet cannot top up another wallet',
      )

      const inv2 = await call(app, 'POST', '/v1/invoices', w.merchantKey, {
        reference: 'INV-2',
        amount: 4000,
        currency: 'EUR',
      })
      const fromWallet = await call(app, 'POST', `/v1/invoices/${inv2.body.id}/payments`, w.walletKey, {
        method: 'wallet',
        idempotencyKey: 'pay-inv-2-a',
      })
      t.match(fromWallet, { status: 201, body: { method: 'wallet', status: 'succeeded' } })

      const tr = await call(app, 'POST', `/v1/wallets/${w.walletId}/transfers`, w.walletKey, {
        merchantId: w.merchantId,
        amount: 3000,
        currency: 'EUR',
        idempotencyKey: 'transfer-1-a',
      })
      t.match(tr, { status: 201, body: { kind: 'transfer', status: 'succeeded' } })
      const tooMuch = await call(app, 'POST', `/v1/wallets/${w.walletId}/transfers`, w.walletKey, {
        merchantId: w.merchantId,
        amount: 9000,
        currency: 'EUR',
        idempotencyKey: 'transfer-2-a',
      })
      t.equal(tooMuch.body.error.code, 'insufficient_funds')
      t.equal((await call(app, 'GET', `/v1/wallets/${w.walletId}/balance`, w.walletKey)).body.available, 3000)

      const payout = await call(app, 'POST', '/v1/payouts', w.operator, { currency: 'EUR' })
      t.equal(payout.status, 201)
      t.equal(payout.body.lines.length, 1)
      t.match(
        payout.body.lines[0],
        { amount: 9500, invoiceAmount: 6500, walletAmount: 3000 },
        'card and wallet invoice payments, and the released QR transfer',
      )
      t.equal((await call(app, 'POST', '/v1/payouts', w.merchantKey, { currency: 'EUR' })).status, 403)
      const file = await app.request(`/v1/payouts/${payout.body.id}/file`, {
        headers: { authorization: `Bearer ${w.operator}` },
      })
      t.equal(file.status, 200)
      t.match(file.headers.get('content-type'), /^text\/csv/)
      t.match(await file.text(), /,EUR,95\.00,9500,6500,3000,2\r\n$/, 'decimal money and minor units')
      const foreignFile = await call(app, 'GET', `/v1/payouts/${payout.body.id}/file`, other.operator)
      t.equal(foreignFile.status, 404, 'another tenant cannot read the payout file')
      const settled = await call(app, 'POST', `/v1/payouts/${payout.body.id}/paid`, w.operator)
      t.equal(settled.body.status, 'paid')
      t.equal((await call(app, 'POST', `/v1/payouts/${payout.body.id}/paid`, other.operator)).status, 404)

      const view = await call(app, 'GET', `/v1/merchants/${w.merchantId}/settlement`, w.merchantKey)
      t.equal(view.status, 200, 'the merchant sees its settlement')
      t.match(view.body.balances, [
        { currency: 'EUR', held: 0, reserved: 0, released: 0, awaitingBank: 0, paid: 9500 },
      ])
      t.match(view.body.batches, [
        { payoutId: payout.body.id, status: 'paid', amount: 9500, walletAmount: 3000 },
      ])
      t.equal(
        (await call(app, 'GET', `/v1/merchants/${w.merchantId}/settlement`, other.operator)).status,
        404,
      )
      t.equal((await call(app, 'GET', `/v1/merchants/${w.merchantId}/settlement`, w.walletKey)).status, 403)
      t.equal((await call(app, 'GET', `/v1/merchants/${w.merchantId}/settlement`, w.operator)).status, 200)
      const sched = await call(app, 'PUT', '/v1/payout-schedule', w.operator, {
        frequency: 'weekly',
        runHour: 6,
        timeZone: 'Asia/Kolkata',
      })
      t.same(sched.body, { frequency: 'weekly', runHour: 6, timeZone: 'Asia/Kolkata' })
      const badTz = await call(app, 'PUT', '/v1/payout-schedule', w.operator, {
        frequency: 'daily',
        runHour: 0,
        timeZone: 'Mars/Olympus',
      })
      t.match(badTz, { status: 400, body: { error: { code: 'bad_schedule' } } })
      t.equal((await call(app, 'PUT', '/v1/payout-schedule', w.merchantKey, sched.body)).status, 403)
      t.same(
        (await call(app, 'GET', '/v1/payout-schedule', other.operator)).body.frequency,
        'daily',
        'per tenant',
      )

      const forged = await app.request('/webhooks/provider', {
        method: 'POST',
        body: JSON.stringify({
          id: 'evt_x',
          type: 'charge.succeeded',
          providerRef: 'ch_x',
          reference: `${w.tenantId}:0000000000000000`,
        }),
        headers: {
          'content-type': 'application/json',
          'opg-signature': `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}`,
        },
      })
      t.equal(forged.status, 400, 'a forged webhook is refused')
      // Signed, but naming a tenant the bridge does not have, or a payment its tenant does not have: typed 4xx.
      const signedEvent = (reference: string) => {
        const body = JSON.stringify({
          id: 'evt_y',
          type: 'charge.succeeded',
          providerRef: 'ch_y',
          reference,
          funding: 'credit',
        })
        return app.request('/webhooks/provider', {
          method: 'POST',
          body,
          headers: {
            'content-type': 'application/json',
            'opg-signature': signWebhook('whsec_routes', body, Math.floor(Date.now() / 1000)),
          },
        })
      }
      const noTenant = await signedEvent(`${'f'.repeat(16)}:0000000000000000`)
      t.equal(noTenant.status, 404, 'an unknown tenant is refused as such')
      t.match(await noTenant.json(), { error: { code: 'unknown_tenant' } })
      const noPayment = await signedEvent(`${other.tenantId}:0000000000000000`)
      t.equal(noPayment.status, 404, 'an unknown payment of a known tenant is refused as such')
      t.match(await noPayment.json(), { error: { code: 'unknown_payment' } })
      t.same(await checkInvariants(bridge.db, w.tenantId), [], 'the ledger balances')
    },
  )
}
