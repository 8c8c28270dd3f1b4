// The typed bridge client without a socket: against the bridge stand-in's Hono app through `fetch`, and
// against hand-made answers for the failure modes (unreachable, timeout, non-JSON, refusals, batching).
import { nodeBackend as c } from '@opg/protocol/node'
import t from 'tap'
import { BridgeClient, checkBridgeUrl } from '../src/core/bridge-client.js'
import { parseInvoiceQr, payInvoiceOnline } from '../src/core/online-payments.js'
import { FakeBridge, OPERATOR_KEY } from './support/fake-bridge.js'
import { world } from './support/fixtures.js'

const BASE = 'https://bridge.test'

t.test('register, keys, balance, purse through the app', async (t) => {
  const w = world(c)
  const app = new FakeBridge(c, w.issuer, Date.now).app()
  const fetch = ((input: string | URL | Request, init?: RequestInit) =>
    app.fetch(new Request(input, init))) as typeof globalThis.fetch
  const operator = new BridgeClient({ baseUrl: `${BASE}/`, apiKey: OPERATOR_KEY, fetch })
  const reg = await operator.registerWallet({
    publicKey: new Uint8Array(32).fill(9),
    phone: '+4915112345678',
  })
  t.same([...reg.wallet.publicKey], [...new Uint8Array(32).fill(9)], 'bytes round-trip as base64url')
  const me = operator.withKey(reg.apiKey)
  t.match(await me.tenant(), { role: 'wallet', subjectId: reg.wallet.id })
  t.same(
    [...(await me.issuerKeys()).values()].map((k) => k.length),
    [32],
  )
  await operator.topUp(reg.wallet.id, { amount: 500, ref: 't' })
  t.match(await me.balance(reg.wallet.id), { available: 500, escrow: 0 })
  await t.rejects(me.loadPurse(reg.wallet.id, { amount: 501 }), {
    code: 'bridge',
    status: 409,
    remoteCode: 'insufficient_funds',
  })
  const purse = await me.loadPurse(reg.wallet.id, { amount: 400 })
  t.equal(purse.certificate.length, 132, 'the certificate arrives as bytes')
  await t.rejects(new BridgeClient({ baseUrl: BASE, fetch }).balance(reg.wallet.id), {
    code: 'bridge',
    status: 401,
    remoteCode: 'unauthorized',
  })
  await t.rejects(me.balance('not-an-id'), { code: 'no_wallet' }, 'ids are checked before any request')
})

t.test('failure modes are typed', async (t) => {
  const refused = new BridgeClient({
    baseUrl: BASE,
    fetch: async () => {
      throw new TypeError('fetch failed')
    },
  })
  await t.rejects(refused.tenant(), { code: 'offline' }, 'unreachable → offline')

  const hanging = new BridgeClient({
    baseUrl: BASE,
    timeoutMs: 50,
    fetch: (_input, init) =>
      new Promise((_resolve, reject) =>
        init?.signal?.addEventListener('abort', () => reject(new Error('aborted'))),
      ),
  })
  await t.rejects(hanging.tenant(), { code: 'offline' }, 'a request past its timeout is abandoned')

  const proxy = new BridgeClient({
    baseUrl: BASE,
    fetch: async () => new Response('<html>bad gateway</html>', { status: 502 }),
  })
  await t.rejects(proxy.tenant(), { code: 'bridge', status: 502 }, 'a non-JSON answer')
})

t.test('log uploads are split into batches the bridge accepts', async (t) => {
  const sizes: number[] = []
  const client = new BridgeClient({
    baseUrl: BASE,
    apiKey: 'k',
    fetch: async (_input, init) => {
      const { tokens } = JSON.parse(String(init?.body)) as { tokens: string[] }
      sizes.push(tokens.length)
      const results = tokens.map((_, index) => ({
        index,
        txId: null,
        outcome: 'accepted',
        status: 'held',
        code: null,
      }))
      return Response.json({ results })
    },
  })
  const out = await client.uploadLog(
    '0000000000000c01',
    Array.from({ length: 1201 }, () => new Uint8Array(4)),
  )
  t.same(sizes, [500, 500, 201])
  t.same(
    out.map((r) => r.index),
    Array.from({ length: 1201 }, (_, i) => i),
    'indices refer to the whole upload',
  )
})

t.test('online payments: invoice QR and request shapes', async (t) => {
  t.same(parseInvoiceQr('OPGI:00000000000000010000000000000abc'), {
    tenantId: '0000000000000001',
    invoiceId: '0000000000000abc',
  })
  t.throws(() => parseInvoiceQr('OPGM:whatever'), { code: 'bad_sticker' })
  const seen: { path: string; body: unknown }[] = []
  const client = new BridgeClient({
    baseUrl: BASE,
    apiKey: 'k',
    fetch: async (input, init) => {
      seen.push({ path: new URL(String(input)).pathname, body: JSON.parse(String(init?.body)) })
      return Response.json({ id: '0000000000000001', status: 'succeeded' }, { status: 201 })
    },
  })
  await payInvoiceOnline(client, {
    invoice: 'OPGI:00000000000000010000000000000abc',
    idempotencyKey: 'key-00001',
  })
  await payInvoiceOnline(client, {
    invoice: '0000000000000abc',
    idempotencyKey: 'key-00002',
    cardToken: 'tok_visa',
  })
  t.same(seen, [
    {
      path: '/v1/invoices/0000000000000abc/payments',
      body: { method: 'wallet', idempotencyKey: 'key-00001' },
    },
    {
      path: '/v1/invoices/0000000000000abc/payments',
      body: { method: 'card', cardToken: 'tok_visa', idempotencyKey: 'key-00002' },
    },
  ])
  await t.rejects(payInvoiceOnline(client, { invoice: '../admin', idempotencyKey: 'key-00003' }), {
    code: 'bad_sticker',
  })
  t.equal(seen.length, 2, 'a malformed id never reaches the network')
})

t.test('plain http:// is refused except to loopback, before any request', async (t) => {
  let requests = 0
  const fetch = (async () => {
    requests++
    return new Response('{}')
  }) as typeof globalThis.fetch
  for (const url of [
    'http://bridge.example.com',
    'http://192.168.1.20:8080',
    'http://10.0.0.1',
    'http://127.0.0.1.nip.io',
    'http://localhost.example.com',
    'ftp://bridge.example.com',
    'ws://127.0.0.1:8080',
    'not a url',
  ]) {
    t.throws(
      () => new BridgeClient({ baseUrl: url, fetch }),
      { name: 'WalletError', code: 'insecure_url' },
      url,
    )
  }
  t.equal(requests, 0, 'no key ever went out')
  for (const url of [
    'https://bridge.example.com',
    'http://127.0.0.1:8080',
    'http://127.9.9.9',
    'http://localhost:8080/',
    'http://[::1]:8080',
    'HTTP://LOCALHOST:1',
  ]) {
    t.equal(checkBridgeUrl(url), url, `${url} is allowed`)
  }
  const local = new BridgeClient({ baseUrl: 'http://127.0.0.1:8080/', fetch })
  t.equal(local.baseUrl, 'http://127.0.0.1:8080')
})
