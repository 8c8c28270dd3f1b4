/**
 * Test-mode money at start: a live bridge (the default) refuses the sandbox and refuses to start without a
 * real provider adapter, with a clear config error; an adapter in the wrong mode is refused; and a database
 * that ever held test payments never goes live.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { nodeBackend as c } from '@opg/protocol/node'
import t, { type Test } from 'tap'
import { Bridge } from '../../src/bridge.js'
import { ConfigError, loadConfig } from '../../src/config.js'
import { createLogger } from '../../src/logger.js'
import type { ChargeRequest, ChargeResult, PaymentProvider } from '../../src/online/provider.js'
import { call, makeWorld } from '../api/support.js'

const dir = mkdtempSync(join(tmpdir(), 'opg-mode-'))
const keyFile = join(dir, 'master.key')
writeFileSync(keyFile, Buffer.from(c.randomBytes(16)).toString('hex'))
const secretFile = join(dir, 'webhook.secret')
writeFileSync(secretFile, 'whsec_live_test_secret')
const dbDir = join(dir, 'db')

/** A provider adapter standing in for a real PSP: it only records charges. */
class RecordingProvider implements PaymentProvider {
  readonly name = 'recording'
  readonly charges: ChargeRequest[] = []
  constructor(readonly testMode: boolean) {}
  async charge(req: ChargeRequest): Promise<ChargeResult> {
    this.charges.push(req)
    return { providerRef: `ch_${this.charges.length}`, status: 'pending', funding: null }
  }
}

const env = (extra: NodeJS.ProcessEnv = {}) => ({
  DATABASE_URL: dbDir,
  OPG_MASTER_KEY_FILE: keyFile,
  OPG_HTTP_PORT: '0',
  OPG_MQTT_EMBEDDED_PORT: '0',
  OPG_VERIFY_WORKERS: '0',
  OPG_LOG_LEVEL: 'silent',
  ...extra,
})

async function startFails(t: Test, bridge: Bridge, pattern: RegExp, what: string) {
  const err = await bridge.start().then(
    () => null,
    (e: unknown) => e,
  )
  t.ok(err instanceof ConfigError, `${what}: a config error`)
  t.match((err as ConfigError).issues.join('\n'), pattern, what)
  await bridge.stop()
}

t.test('a live bridge needs a real provider, in live mode, with its webhook secret', async (t) => {
  const logger = createLogger('silent')
  await startFails(
    t,
    new Bridge({ config: loadConfig({ env: env() }), logger }),
    /mode live needs a real card provider adapter/,
    'no adapter',
  )
  await startFails(
    t,
    new Bridge({ config: loadConfig({ env: env() }), logger, paymentProvider: new RecordingProvider(true) }),
    /adapter is in test mode but mode is live/,
    'a test-mode adapter in a live bridge',
  )
  const live = new Bridge({
    config: loadConfig({ env: env({ OPG_WEBHOOK_SECRET_FILE: secretFile }) }),
    logger,
    paymentProvider: new RecordingProvider(false),
  })
  await live.start()
  t.pass('a live adapter with its secret starts')
  await live.stop()
})

t.test('a database that held test money never goes live', async (t) => {
  const logger = createLogger('silent')
  const test = new Bridge({ config: loadConfig({ env: env({ OPG_MODE: 'test' }) }), logger })
  await test.start()
  const w = await makeWorld(test as unknown as Parameters<typeof makeWorld>[0], 'mode')
  const top = await call(test.app, 'POST', `/v1/wallets/${w.walletId}/topups`, w.walletKey, {
    amount: 1000,
    currency: 'EUR',
    cardToken: 'tok_visa',
    idempotencyKey: 'mode-topup-1',
  })
  t.equal(top.status, 201)
  const marked = await test.db.query<{ test_mode: boolean }>('SELECT test_mode FROM online_payments')
  t.same(
    marked.rows.map((r) => r.test_mode),
    [true],
    'the sandbox top-up is marked test',
  )
  await test.stop()
  await startFails(
    t,
    new Bridge({
      config: loadConfig({ env: env({ OPG_WEBHOOK_SECRET_FILE: secretFile }) }),
      logger,
      paymentProvider: new RecordingProvider(false),
    }),
    /this database holds test-mode payments/,
    'live on a test database',
  )
})
