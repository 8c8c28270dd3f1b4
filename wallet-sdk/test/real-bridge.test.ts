// The CLI wallet against the real bridge (cloud-bridge's composition root on PGlite, HTTP on 127.0.0.1): a box
// certified by the bridge's issuer, a wallet registered, topped up and given a purse, an offline payment, the
// payer's log upload and the statuses the bridge reports.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Bridge, createLogger, createTenant, loadConfig, loadMasterKey } from '@opg/cloud-bridge'
import {
  decodeNodeCertificate,
  decodeQrText,
  decodeToken,
  encodeSticker,
  generateEncryptionKeyPair,
  generateSigningKeyPair,
  openEnvelope,
} from '@opg/protocol'
import { nodeBackend as c } from '@opg/protocol/node'
import t from 'tap'
// The issuer bootstrap is not part of the bridge's package surface; tests reach it directly.
import { initIssuer } from '../../cloud-bridge/src/issuer/index.js'
import { fromB64u, toB64u } from '../src/core/base64url.js'
import { runWalletCliInProcess as run } from './support/run-cli.js'

async function call(url: string, key: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  // biome-ignore lint/suspicious/noExplicitAny: test JSON
  return { status: res.status, body: (await res.json()) as any }
}

t.test('opg-wallet against the real bridge', async (t) => {
  const tmp = await mkdtemp(join(tmpdir(), 'opg-wallet-bridge-'))
  t.teardown(() => rm(tmp, { recursive: true, force: true }))
  const keyFile = join(tmp, 'master.key')
  await writeFile(keyFile, Buffer.from(c.randomBytes(16)).toString('hex'))
  const config = loadConfig({
    env: {
      DATABASE_URL: 'memory:',
      OPG_MASTER_KEY_FILE: keyFile,
      OPG_MODE: 'test',
      OPG_HTTP_HOST: '127.0.0.1',
      OPG_HTTP_PORT: '0',
      OPG_MQTT_EMBEDDED_PORT: '0',
      OPG_VERIFY_WORKERS: '0',
      OPG_LOG_LEVEL: 'silent',
    },
  })
  const bridge = new Bridge({ config, logger: createLogger('silent') })
  const { httpUrl } = await bridge.start()
  t.teardown(() => bridge.stop())
  const { tenant, operatorKey } = await createTenant(bridge.db, 'wallet-cli', 'EUR')
  await initIssuer(bridge.db, { c, sealer: loadMasterKey(c, keyFile) }, tenant.id)
  const op = operatorKey.key

  // A certified box and its sticker, as provisioning makes them.
  const m = await call(httpUrl, op, 'POST', '/v1/merchants', { name: 'Kiosk' })
  const d = await call(httpUrl, op, 'POST', `/v1/merchants/${m.body.merchant.id}/devices`, { label: 'box' })
  const enc = generateEncryptionKeyPair(c)
  const nc = await call(httpUrl, op, 'POST', `/v1/devices/${d.body.device.id}/certificate`, {
    signingKey: toB64u(generateSigningKeyPair(c).publicKey),
    encryptionKey: toB64u(enc.publicKey),
  })
  t.equal(nc.status, 200)
  const sticker = encodeSticker({
    nodeCert: decodeNodeCertificate(fromB64u(nc.body.certificate)),
    merchantName: 'Kiosk',
  })

  const env = {
    OPG_WALLET_DIR: join(tmp, 'wallet'),
    OPG_WALLET_PASSPHRASE: 'passphrase for the test',
    OPG_WALLET_SCRYPT_COST: '1024',
    OPG_BRIDGE_URL: httpUrl,
    OPG_OPERATOR_KEY: op,
  }
  const created = await run(['create', '--phone', '+4915112345678', '--json'], env)
  t.equal(created.code, 0, created.stderr)
  const { walletId } = JSON.parse(created.stdout)
  t.match(walletId, /^[0-9a-f]{16}$/)

  // Amounts are typed as money (100.00 EUR); JSON answers keep minor units.
  t.equal((await run(['top-up', '100.00'], env)).code, 0)
  const loaded = await run(['load-purse', '30', '--limit', '10.00', '--json'], env)
  t.equal(loaded.code, 0, loaded.stderr)
  t.match(JSON.parse(loaded.stdout), { remaining: 3000, perPaymentLimit: 1000, currency: 'EUR' })
  const again = await run(['load-purse', '1'], env)
  t.equal(again.code, 1)
  t.match(again.stderr, /error purse_active/, 'the wallet will not strand a live purse')

  const paid = await run(['pay', '--sticker', sticker, '--amount', '7.00', '--json'], {
    ...env,
    OPG_BRIDGE_URL: 'http://127.0.0.1:9',
  })
  t.equal(paid.code, 0, paid.stderr)
  const { txId, qrText } = JSON.parse(paid.stdout)
  t.equal(
    decodeToken(openEnvelope(c, enc, decodeQrText(qrText))).txId,
    txId,
    'the box can open the QR payload',
  )

  const synced = await run(['sync', '--json'], env)
  t.equal(synced.code, 0, synced.stderr)
  t.match(JSON.parse(synced.stdout).results, [{ txId, outcome: 'accepted' }])
  const hist = await run(['history', '--json'], env)
  t.equal(hist.code, 0, hist.stderr)
  const [payment] = JSON.parse(hist.stdout).payments
  t.match(payment, { txId, amount: 700, currency: 'EUR' })
  t.ok(['held', 'confirmed'].includes(payment.status), `status ${payment.status}`)

  const bal = await run(['balance', '--json'], env)
  t.match(JSON.parse(bal.stdout), { purse: { remaining: 2300 }, online: { available: 7000 }, unsynced: 0 })

  const claimed = await run(['claim', txId, '--reason', 'not me', '--json'], env)
  t.equal(claimed.code, 0, claimed.stderr)
  t.match(JSON.parse(claimed.stdout), { txId, status: 'open' })
  const after = JSON.parse((await run(['history', '--json'], env)).stdout).payments[0]
  t.equal(after.status, 'claimed', 'the claimed payment shows as claimed')

  // Online: card top-up (sandbox provider tokens), paying the sticker's merchant and an invoice from the balance.
  const card = await run(['top-up', '10.00', '--card', 'tok_visa', '--json'], env)
  t.equal(card.code, 0, card.stderr)
  t.match(JSON.parse(card.stdout), { kind: 'topup', method: 'card', status: 'succeeded', amount: 1000 })
  const declined = await run(['top-up', '10.00', '--card', 'tok_card_declined'], env)
  t.equal(declined.code, 1)
  t.match(declined.stderr, /error bridge \(card_declined\)/, 'a declined card is reported with its code')
  const online = await run(['pay', '--sticker', sticker, '--amount', '2.50', '--online', '--json'], env)
  t.equal(online.code, 0, online.stderr)
  t.match(JSON.parse(online.stdout), { kind: 'transfer', method: 'wallet', status: 'succeeded', amount: 250 })
  const inv = await call(httpUrl, m.body.apiKey.key, 'POST', '/v1/invoices', {
    reference: 'INV-7',
    amount: 150,
    currency: 'EUR',
  })
  t.equal(inv.status, 201)
  const paidInv = await run(['pay-invoice', inv.body.qr, '--json'], env)
  t.equal(paidInv.code, 0, paidInv.stderr)
  t.match(JSON.parse(paidInv.stdout), { kind: 'invoice', method: 'wallet', status: 'succeeded', amount: 150 })
  const twice = await run(['pay-invoice', inv.body.qr], env)
  t.equal(twice.code, 1, 'a paid invoice is not paid again')
  const final = JSON.parse((await run(['balance', '--json'], env)).stdout)
  t.match(final.online, { available: 7000 + 1000 - 250 - 150 }, 'the balance moved by exactly what was paid')
})
