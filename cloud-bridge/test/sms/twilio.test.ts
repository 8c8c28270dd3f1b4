import t from 'tap'
import { isSmsError, TwilioSmsProvider } from '../../src/sms/index.js'
import { FakeTwilio } from '../support/fake-twilio.js'

const TENANT = '00000000000000e1'
const msg = { tenantId: TENANT, to: '+15551230001', text: 'OPG1 PAID 1200 EUR', idempotencyKey: 'k-1' }

t.test('Twilio-compatible provider', async (t) => {
  const server = new FakeTwilio()
  await server.start()
  t.teardown(() => server.stop())
  const provider = (opts: { token?: string; timeoutMs?: number } = {}) =>
    new TwilioSmsProvider({
      baseUrl: `${server.url}/`,
      accountSid: server.sid,
      authToken: opts.token ?? server.token,
      from: '+15550009999',
      timeoutMs: opts.timeoutMs ?? 5_000,
    })

  t.test('201 → the message sid; the request is form-encoded with basic auth', async (t) => {
    const r = await provider().send(msg)
    t.match(r.providerId, /^SM[0-9a-f]{32}$/)
    const req = server.requests.at(-1)!
    t.same(req.form, { To: '+15551230001', From: '+15550009999', Body: 'OPG1 PAID 1200 EUR' })
    t.equal(req.idempotencyKey, 'k-1')
    t.equal(req.sid, server.sid)
  })

  t.test('429 and 5xx are retryable; Retry-After is honoured', async (t) => {
    server.script({ status: 429, headers: { 'retry-after': '7' }, body: { code: 20429 } }, 500, 503)
    const e1 = await provider()
      .send(msg)
      .catch((e: unknown) => e)
    t.ok(isSmsError(e1, 'provider_unavailable'))
    t.match(e1, { retryable: true, status: 429, retryAfterMs: 7000 })
    for (const status of [500, 503]) {
      const e = await provider()
        .send(msg)
        .catch((err: unknown) => err)
      t.match(e, { code: 'provider_unavailable', retryable: true, status })
    }
  })

  t.test('other 4xx are permanent', async (t) => {
    server.script({ status: 400, body: { code: 21211, message: "The 'To' number is not valid" } })
    const e = await provider()
      .send(msg)
      .catch((err: unknown) => err)
    t.match(e, { code: 'rejected', retryable: false, status: 400 })
    t.match((e as Error).message, /21211/)
    const auth = await provider({ token: 'wrong' })
      .send(msg)
      .catch((err: unknown) => err)
    t.match(auth, { code: 'rejected', status: 401 })
    t.notMatch((auth as Error).message, /wrong/, 'the token is not echoed into errors')
  })

  t.test('a timeout is retryable', async (t) => {
    server.script('hang')
    const e = await provider({ timeoutMs: 200 })
      .send(msg)
      .catch((err: unknown) => err)
    t.match(e, { code: 'provider_unavailable', retryable: true })
  })

  t.test('malformed messages never leave', async (t) => {
    const before = server.requests.length
    await t.rejects(provider().send({ ...msg, to: '5551230001' }), { code: 'bad_message' })
    await t.rejects(provider().send({ ...msg, text: '' }), { code: 'bad_message' })
    t.equal(server.requests.length, before)
  })
})

t.test('an unreachable provider is retryable', async (t) => {
  const server = new FakeTwilio()
  await server.start()
  const url = server.url
  await server.stop()
  const p = new TwilioSmsProvider({ baseUrl: url, accountSid: 'AC1', authToken: 'x', from: '+15550009999' })
  await t.rejects(p.send(msg), { code: 'provider_unavailable', retryable: true })
})
