import t from 'tap'
import {
  enqueueSms,
  listOutbox,
  SandboxSmsProvider,
  SmsError,
  type SmsMessage,
  SmsOutbox,
  type SmsProvider,
  TwilioSmsProvider,
} from '../../src/sms/index.js'
import { forEachDatabase, seedTenant } from '../support/databases.js'
import { FakeTwilio } from '../support/fake-twilio.js'

const T0 = Date.parse('2030-01-01T00:00:00Z')
const msg = (tenantId: string, key: string, to = '+15551230001'): SmsMessage => ({
  tenantId,
  to,
  text: `OPG1 PAID ${key}`,
  idempotencyKey: key,
})

/** A controllable clock. */
function clock(start = T0) {
  let now = start
  return { now: () => now, set: (ms: number) => (now = ms) }
}

forEachDatabase(
  t,
  async (t, db, kind) => {
    // The worker serves every tenant of a database: start each test with an empty outbox.
    t.beforeEach(async () => {
      await db.query('DELETE FROM sms_outbox')
    })

    t.test('a message is queued only if its transaction commits, and once per key', async (t) => {
      const tenant = await seedTenant(db)
      await t.rejects(
        db.transaction(async (tx) => {
          await enqueueSms(tx, msg(tenant, 'rolled-back'))
          throw new Error('payment failed')
        }),
      )
      const a = await db.transaction((tx) => enqueueSms(tx, msg(tenant, 'k1')))
      const b = await db.transaction((tx) => enqueueSms(tx, msg(tenant, 'k1')))
      t.equal(a.enqueued, true)
      t.equal(b.enqueued, false)
      t.equal(b.id, a.id)
      const items = await listOutbox(db, tenant)
      t.same(
        items.map((i) => i.idempotencyKey),
        ['k1'],
      )
      await t.rejects(
        db.transaction((tx) => enqueueSms(tx, { ...msg(tenant, 'bad'), to: 'not-a-number' })),
        { code: 'bad_message' },
      )
    })

    t.test('a provider outage delays delivery with exponential backoff and loses nothing', async (t) => {
      const tenant = await seedTenant(db)
      const sandbox = new SandboxSmsProvider({ db })
      const c = clock()
      const outbox = new SmsOutbox({ db, provider: sandbox, baseDelayMs: 1000, now: c.now, random: () => 1 })
      await db.transaction((tx) => enqueueSms(tx, msg(tenant, 'paid-1'), { notBefore: new Date(T0) }))
      sandbox.simulateOutage(2)

      t.same(await outbox.runOnce(), { sent: 0, retried: 1, failed: 0 })
      let [item] = await listOutbox(db, tenant)
      t.equal(item!.attempts, 1)
      t.equal(item!.nextAttemptAt.getTime(), T0 + 1000, 'first retry after the base delay')
      t.match(item!.lastError, /simulated outage/)

      t.same(await outbox.runOnce(), { sent: 0, retried: 0, failed: 0 }, 'nothing is due before then')
      c.set(T0 + 1000)
      t.same(await outbox.runOnce(), { sent: 0, retried: 1, failed: 0 })
      ;[item] = await listOutbox(db, tenant)
      t.equal(item!.nextAttemptAt.getTime(), T0 + 1000 + 2000, 'the delay doubles')

      c.set(T0 + 3000)
      t.same(await outbox.runOnce(), { sent: 1, retried: 0, failed: 0 })
      ;[item] = await listOutbox(db, tenant)
      t.equal(item!.status, 'sent')
      t.equal(item!.attempts, 3)
      const inbox = await sandbox.list(tenant)
      t.equal(inbox.length, 1)
      t.equal(inbox[0]!.body, 'OPG1 PAID paid-1')
      t.equal(item!.providerId, inbox[0]!.id)
      t.same(await outbox.runOnce(), { sent: 0, retried: 0, failed: 0 }, 'a sent message is not sent again')
    })

    t.test('a permanent refusal fails at once; retryable errors fail after maxAttempts', async (t) => {
      const tenant = await seedTenant(db)
      const c = clock()
      const refusing: SmsProvider = {
        name: 'refusing',
        send: async (m) => {
          if (m.idempotencyKey === 'perm') throw new SmsError('rejected', 'invalid number', { status: 400 })
          throw new SmsError('provider_unavailable', 'down', { status: 503 })
        },
      }
      const outbox = new SmsOutbox({ db, provider: refusing, baseDelayMs: 10, maxAttempts: 3, now: c.now })
      await db.transaction(async (tx) => {
        await enqueueSms(tx, msg(tenant, 'perm'), { notBefore: new Date(T0) })
        await enqueueSms(tx, msg(tenant, 'temp'), { notBefore: new Date(T0) })
      })
      t.same(await outbox.runOnce(), { sent: 0, retried: 1, failed: 1 })
      c.set(T0 + 60_000)
      await outbox.runOnce()
      c.set(T0 + 120_000)
      t.same(await outbox.runOnce(), { sent: 0, retried: 0, failed: 1 })
      const byKey = Object.fromEntries((await listOutbox(db, tenant)).map((i) => [i.idempotencyKey, i]))
      t.match(byKey.perm, { status: 'failed', attempts: 1 })
      t.match(byKey.temp, { status: 'failed', attempts: 3 })
    })

    t.test('workers racing over one outbox send each message once', async (t) => {
      const tenant = await seedTenant(db)
      const sent: string[] = []
      const counting: SmsProvider = {
        name: 'counting',
        send: async (m) => {
          sent.push(m.idempotencyKey)
          await new Promise((r) => setImmediate(r))
          return { providerId: `p-${m.idempotencyKey}` }
        },
      }
      await db.transaction(async (tx) => {
        for (let i = 0; i < 30; i++) await enqueueSms(tx, msg(tenant, `m${i}`), { notBefore: new Date(T0) })
      })
      const workers = [1, 2, 3].map(
        () => new SmsOutbox({ db, provider: counting, batchSize: 4, now: () => T0 }),
      )
      for (let round = 0; round < 10; round++) await Promise.all(workers.map((w) => w.runOnce()))
      t.equal(sent.length, 30, `every message sent once (${kind})`)
      t.equal(new Set(sent).size, 30)
      t.equal((await listOutbox(db, tenant, { status: 'sent', limit: 100 })).length, 30)
    })

    t.test('a sender that stalls past its lease is replaced; the message is still delivered', async (t) => {
      const tenant = await seedTenant(db)
      let release: (() => void) | undefined
      const stalled: SmsProvider = {
        name: 'stalled',
        send: () =>
          new Promise((resolve) => {
            release = () => resolve({ providerId: 'late' })
          }),
      }
      const sandbox = new SandboxSmsProvider({ db })
      await db.transaction((tx) => enqueueSms(tx, msg(tenant, 'lease'), { notBefore: new Date(T0) }))
      const a = new SmsOutbox({ db, provider: stalled, leaseMs: 60_000, now: () => T0 })
      const b = new SmsOutbox({ db, provider: sandbox, leaseMs: 60_000, now: () => T0 + 60_000 })
      const first = a.runOnce()
      while (!release) await new Promise((r) => setImmediate(r))
      t.same(await b.runOnce(), { sent: 1, retried: 0, failed: 0 }, 'after the lease another worker sends it')
      release()
      t.same(await first, { sent: 0, retried: 0, failed: 0 }, 'the stalled sender records nothing')
      const [item] = await listOutbox(db, tenant)
      t.match(item, { status: 'sent', attempts: 2 })
      t.equal(item!.providerId, (await sandbox.list(tenant))[0]!.id)
    })

    t.test('through the Twilio-compatible provider: 503, then 429, then delivered', async (t) => {
      const tenant = await seedTenant(db)
      const server = new FakeTwilio()
      await server.start()
      t.teardown(() => server.stop())
      server.script(503, { status: 429, headers: { 'retry-after': '30' } })
      const provider = new TwilioSmsProvider({
        baseUrl: server.url,
        accountSid: server.sid,
        authToken: server.token,
        from: '+15550009999',
      })
      const c = clock()
      const outbox = new SmsOutbox({ db, provider, baseDelayMs: 1000, now: c.now, random: () => 1 })
      await db.transaction((tx) => enqueueSms(tx, msg(tenant, 'tw-1'), { notBefore: new Date(T0) }))
      await outbox.runOnce()
      c.set(T0 + 1000)
      await outbox.runOnce()
      const [item] = await listOutbox(db, tenant)
      t.equal(item!.nextAttemptAt.getTime(), T0 + 1000 + 30_000, 'Retry-After beats a shorter backoff')
      c.set(T0 + 31_000)
      t.same(await outbox.runOnce(), { sent: 1, retried: 0, failed: 0 })
      t.equal(server.requests.length, 3)
      t.ok(server.requests.every((r) => r.idempotencyKey === 'tw-1'))
    })

    t.test('started, the worker delivers on its own and stops cleanly', async (t) => {
      const tenant = await seedTenant(db)
      const sandbox = new SandboxSmsProvider({ db })
      const outbox = new SmsOutbox({ db, provider: sandbox, pollIntervalMs: 20 })
      outbox.start()
      t.teardown(() => outbox.stop())
      await db.transaction((tx) => enqueueSms(tx, msg(tenant, 'live')))
      outbox.wake()
      for (let i = 0; i < 250 && (await sandbox.list(tenant)).length === 0; i++) {
        await new Promise((r) => setTimeout(r, 20))
      }
      t.equal((await sandbox.list(tenant)).length, 1)
      await outbox.stop()
    })
  },
  { migrate: { upTo: 99 } },
)
