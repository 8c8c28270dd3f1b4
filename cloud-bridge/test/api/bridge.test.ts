/**
 * The whole bridge through its composition root, on both engines: real issuer keys, real certificates
 * (verified with the protocol), real token verification and reconciliation, the embedded MQTT broker and
 * the ingest consumer running — driven through the HTTP API with app.request().
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  chainStart,
  decodeNodeCertificate,
  decodeWalletCertificate,
  generateEncryptionKeyPair,
  generateSigningKeyPair,
  signToken,
  uuidv7,
  verifyNodeCertificate,
  verifyWalletCertificate,
} from '@opg/protocol'
import { nodeBackend as c } from '@opg/protocol/node'
import t from 'tap'
import { Bridge } from '../../src/bridge.js'
import { loadConfig } from '../../src/config.js'
import { initIssuer, rotateIssuer } from '../../src/issuer/index.js'
import { loadMasterKey } from '../../src/issuer/master-key.js'
import { checkInvariants } from '../../src/ledger/index.js'
import { createLogger } from '../../src/logger.js'
import { SandboxSmsProvider } from '../../src/sms/index.js'
import { createTenant } from '../../src/tenants/tenants.js'
import { createTestDb, postgresAvailable } from '../support/databases.js'
import { call } from './support.js'

const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url')
const fromB64u = (s: string) => new Uint8Array(Buffer.from(s, 'base64url'))
const keyring = (keys: { keyId: string; publicKey: string }[]) =>
  new Map(keys.map((k) => [k.keyId, fromB64u(k.publicKey)]))

const pg = await postgresAvailable()
for (const kind of ['pglite', 'postgres'] as const) {
  const skip = kind === 'postgres' && !pg ? 'PostgreSQL not reachable' : false
  t.test(`bridge end to end (${kind})`, { skip }, async (t) => {
    const scratch = await createTestDb(kind)
    // The bridge opens its own handle; for PGlite the scratch one is just closed.
    const url = scratch.url
    if (kind === 'pglite') await scratch.db.close()
    t.teardown(() => (kind === 'postgres' ? scratch.drop() : undefined))

    const dir = mkdtempSync(join(tmpdir(), 'opg-bridge-'))
    const keyFile = join(dir, 'master.key')
    writeFileSync(
      keyFile,
      c.randomBytes(16).reduce((s, b) => s + b.toString(16).padStart(2, '0'), ''),
    )
    const config = loadConfig({
      env: {
        DATABASE_URL: url,
        OPG_MASTER_KEY_FILE: keyFile,
        OPG_MODE: 'test',
        OPG_HTTP_PORT: '0',
        OPG_MQTT_EMBEDDED_PORT: '0',
        OPG_VERIFY_WORKERS: '0',
        OPG_LOG_LEVEL: 'silent',
      },
    })
    const now = Date.parse('2026-11-27T12:00:00Z')
    const bridge = new Bridge({ config, clock: () => now, logger: createLogger('silent') })
    const ends = await bridge.start()
    t.teardown(() => bridge.stop())
    t.match(ends.httpUrl, /^http:\/\/127\.0\.0\.1:\d+$/)
    t.match(ends.mqttUrl, /^mqtt:\/\/127\.0\.0\.1:\d+$/)

    const { tenant, operatorKey } = await createTenant(bridge.db, 'e2e', 'EUR')
    await initIssuer(bridge.db, { c, sealer: loadMasterKey(c, keyFile) }, tenant.id)
    const app = bridge.app
    const op = operatorKey.key

    const m = await call(app, 'POST', '/v1/merchants', op, { name: 'Kiosk' })
    const d = await call(app, 'POST', `/v1/merchants/${m.body.merchant.id}/devices`, op, { label: 'box' })
    const merchantId: string = m.body.merchant.id
    const deviceId: string = d.body.device.id

    await t.test('a box gets a node certificate that verifies under the issuer keyring', async (t) => {
      const sig = generateSigningKeyPair(c)
      const enc = generateEncryptionKeyPair(c)
      const r = await call(app, 'POST', `/v1/devices/${deviceId}/certificate`, d.body.apiKey.key, {
        signingKey: b64u(sig.publicKey),
        encryptionKey: b64u(enc.publicKey),
      })
      t.equal(r.status, 200)
      const cert = decodeNodeCertificate(fromB64u(r.body.certificate))
      verifyNodeCertificate(c, cert, keyring(r.body.issuerKeys), Math.floor(now / 1000))
      t.match(cert, { tenantId: tenant.id, merchantId, deviceId })
      t.same(cert.signingKey, sig.publicKey)
      t.same(cert.encryptionKey, enc.publicKey)
    })

    const wallet = generateSigningKeyPair(c)
    const w = await call(app, 'POST', '/v1/wallets', op, {
      publicKey: b64u(wallet.publicKey),
      phone: '+4915112345678',
    })
    const walletId: string = w.body.wallet.id
    const wk: string = w.body.apiKey.key
    await call(app, 'POST', `/v1/wallets/${walletId}/credit`, op, { amount: 10_000, ref: 'top-up-1' })

    const purse = await call(app, 'POST', `/v1/wallets/${walletId}/purses`, wk, {
      amount: 3000,
      perPaymentLimit: 1000,
    })
    const cert = decodeWalletCertificate(fromB64u(purse.body.certificate))
    await t.test('the purse certificate is the issuer’s and carries the purse', async (t) => {
      t.equal(purse.status, 201)
      const ring = await call(app, 'GET', '/v1/issuer/keys', wk)
      verifyWalletCertificate(c, cert, keyring(ring.body.keys), Math.floor(now / 1000))
      t.match(cert, { walletId, purseAmount: 3000, perPaymentLimit: 1000, currency: 'EUR', counterBase: 0 })
      t.equal(cert.expiresAt - cert.issuedAt, 72 * 3600)
      t.same(cert.publicKey, wallet.publicKey)
    })

    const token = signToken(c, wallet.secretKey, cert, {
      txId: uuidv7(c, now),
      merchantId,
      deviceId,
      amount: 700,
      counter: cert.counterBase + 1,
      prevHash: chainStart(c, cert),
      walletTime: Math.floor(now / 1000),
    })

    await t.test('the payer log goes through verification into reconciliation', async (t) => {
      const r = await call(app, 'POST', `/v1/wallets/${walletId}/log`, wk, {
        tokens: [b64u(token.bytes), b64u(new Uint8Array([1, 2, 3]))],
      })
      t.equal(r.status, 200)
      t.match(r.body.results[0], { index: 0, txId: token.txId, outcome: 'accepted', status: 'confirmed' })
      t.match(r.body.results[1], { index: 1, outcome: 'rejected', status: null })
      t.type(r.body.results[1].code, 'string')
      const again = await call(app, 'POST', `/v1/wallets/${walletId}/log`, wk, {
        tokens: [b64u(token.bytes)],
      })
      t.match(again.body.results[0], { outcome: 'duplicate', status: 'confirmed' })
      const h = await call(app, 'GET', `/v1/wallets/${walletId}/history`, wk)
      t.match(h.body.payments, [{ txId: token.txId, amount: 700, status: 'confirmed', merchantId }])
      const byMerchant = await call(app, 'GET', `/v1/merchants/${merchantId}/payments`, m.body.apiKey.key)
      t.equal(byMerchant.body.payments.length, 1)
    })

    await t.test('a claim disputes the payment; the operator reverses it through the ledger', async (t) => {
      const cl = await call(app, 'POST', `/v1/wallets/${walletId}/claims`, wk, {
        txId: token.txId,
        reason: 'not me',
      })
      t.equal(cl.status, 201)
      t.equal((await call(app, 'GET', `/v1/payments/${token.txId}`, op)).body.status, 'claimed')
      const twice = await call(app, 'POST', `/v1/wallets/${walletId}/claims`, wk, {
        txId: token.txId,
        reason: 'x',
      })
      t.equal(twice.status, 409)
      const r = await call(app, 'POST', `/v1/claims/${cl.body.id}/resolve`, op, { decision: 'reverse' })
      t.equal(r.status, 200)
      t.equal((await call(app, 'GET', `/v1/payments/${token.txId}`, wk)).body.status, 'reversed')
      t.same(await checkInvariants(bridge.db), [])
    })

    await t.test('the sandbox SMS listing shows what the sandbox provider sent, per tenant', async (t) => {
      await new SandboxSmsProvider({ db: bridge.db }).send({
        tenantId: tenant.id,
        to: '+4915112345678',
        text: 'OPG1 test',
        idempotencyKey: 'test-1',
      })
      const r = await call(app, 'GET', '/v1/sandbox/sms', op)
      t.equal(r.status, 200)
      t.match(r.body.messages, [{ to: '+4915112345678', body: 'OPG1 test' }])
      const other = await createTenant(bridge.db, 'e2e other', 'EUR')
      const r2 = await call(app, 'GET', '/v1/sandbox/sms', other.operatorKey.key)
      t.same(r2.body.messages, [])
    })

    await t.test(
      'after an issuer rotation new purses use the new key; old certificates still verify',
      async (t) => {
        const rotated = await bridge.db.transaction((tx) =>
          rotateIssuer(tx, { c, sealer: loadMasterKey(c, keyFile) }, tenant.id),
        )
        const ring = await call(app, 'GET', '/v1/issuer/keys', wk)
        t.equal(ring.body.keys.length, 2)
        const p2 = await call(app, 'POST', `/v1/wallets/${walletId}/purses`, wk, { amount: 500 })
        t.equal(p2.body.issuerKeyId, rotated.keyId)
        const cert2 = decodeWalletCertificate(fromB64u(p2.body.certificate))
        t.equal(cert2.counterBase, 3000, 'continues after the first purse')
        verifyWalletCertificate(c, cert2, keyring(ring.body.keys), Math.floor(now / 1000))
        verifyWalletCertificate(c, cert, keyring(ring.body.keys), Math.floor(now / 1000))
        t.not(cert.issuerKeyId, cert2.issuerKeyId)
      },
    )

    await t.test('the served socket answers the same API', async (t) => {
      const res = await fetch(`${ends.httpUrl}/v1/tenant`, { headers: { authorization: `Bearer ${op}` } })
      t.equal(res.status, 200)
      t.match(await res.json(), { id: tenant.id, role: 'operator' })
    })
  })
}
