import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import {
  ConfigError,
  DEFAULT_EMBEDDED_MQTT_PORT,
  defaultMqttConnections,
  isLoopback,
  loadConfig,
  redactConfig,
} from '../../src/config.js'

const dir = mkdtempSync(join(tmpdir(), 'opg-config-'))

t.test('defaults are safe: loopback HTTP, embedded broker off 1883, memory store, 72 h hold', async (t) => {
  const c = loadConfig({ env: {} })
  t.equal(c.database.url, 'memory:')
  t.equal(c.mqtt.url, null)
  t.equal(c.mqtt.embeddedPort, DEFAULT_EMBEDDED_MQTT_PORT)
  t.not(c.mqtt.embeddedPort, 1883)
  t.equal(c.http.host, '127.0.0.1')
  t.equal(c.holdPeriodSeconds, 72 * 3600)
  t.equal(c.purseTtlSeconds, 72 * 3600)
  t.equal(c.masterKeyFile, null)
  t.equal(c.sms.provider, 'sandbox')
})

t.test('the environment sets every field, with durations in units', async (t) => {
  const c = loadConfig({
    env: {
      DATABASE_URL: 'postgres://opg:s3cret@db:5432/opg',
      MQTT_URL: 'mqtts://broker:8883',
      OPG_HTTP_PORT: '9443',
      OPG_HOLD_PERIOD: '2m',
      OPG_PURSE_TTL: '24h',
      OPG_SWEEP_INTERVAL: '5',
      OPG_LOG_LEVEL: 'debug',
    },
  })
  t.equal(c.database.url, 'postgres://opg:s3cret@db:5432/opg')
  t.equal(c.mqtt.url, 'mqtts://broker:8883')
  t.equal(c.http.port, 9443)
  t.equal(c.holdPeriodSeconds, 120)
  t.equal(c.purseTtlSeconds, 86400)
  t.equal(c.sweepIntervalSeconds, 5)
  t.equal(c.log.level, 'debug')
  t.equal(loadConfig({ env: { DATABASE_URL: 'memory' } }).database.url, 'memory:', '"memory" means memory:')
})

t.test('every problem is reported at once', async (t) => {
  const err = t.throws(() =>
    loadConfig({
      env: {
        MQTT_URL: 'http://broker',
        OPG_HTTP_PORT: '70000',
        OPG_HOLD_PERIOD: 'soon',
        OPG_PURSE_TTL: '96h',
        OPG_LOG_LEVEL: 'loud',
      },
    }),
  ) as ConfigError
  t.ok(err instanceof ConfigError)
  t.equal(err.code, 'bad_config')
  const paths = err.issues.map((i) => i.split(':')[0])
  t.same(paths.sort(), ['holdPeriodSeconds', 'http.port', 'log.level', 'mqtt.url', 'purseTtlSeconds'].sort())
})

t.test('plain HTTP on a public address is refused unless explicitly allowed', async (t) => {
  const err = t.throws(() => loadConfig({ env: { OPG_HTTP_HOST: '0.0.0.0' } })) as ConfigError
  t.match(err.issues.join('\n'), /http.host: refusing to serve plain HTTP on non-loopback 0.0.0.0/)
  t.equal(
    loadConfig({ env: { OPG_HTTP_HOST: '0.0.0.0', OPG_ALLOW_INSECURE_BIND: '1' } }).http.host,
    '0.0.0.0',
  )
  const cert = join(dir, 'cert.pem')
  const key = join(dir, 'key.pem')
  writeFileSync(cert, 'x')
  writeFileSync(key, 'x')
  t.equal(
    loadConfig({ env: { OPG_HTTP_HOST: '0.0.0.0', OPG_TLS_CERT_FILE: cert, OPG_TLS_KEY_FILE: key } }).http
      .tlsKeyFile,
    key,
  )
  const half = t.throws(() => loadConfig({ env: { OPG_TLS_CERT_FILE: cert } })) as ConfigError
  t.match(half.issues.join('\n'), /both a certificate and a key/)
  const missing = t.throws(() =>
    loadConfig({ env: { OPG_TLS_CERT_FILE: join(dir, 'nope.pem'), OPG_TLS_KEY_FILE: key } }),
  ) as ConfigError
  t.match(missing.issues.join('\n'), /tlsCertFile: file .*nope.pem does not exist/)
  t.ok(isLoopback('127.0.0.53') && isLoopback('::1') && isLoopback('localhost'))
  t.notOk(isLoopback('10.0.0.1') || isLoopback('127.example.com'))
})

t.test('the embedded broker listens beyond loopback only with TLS', async (t) => {
  const err = t.throws(() => loadConfig({ env: { OPG_MQTT_EMBEDDED_HOST: '0.0.0.0' } })) as ConfigError
  t.match(err.issues.join('\n'), /mqtt.embeddedHost: refusing a plain MQTT listener on non-loopback 0.0.0.0/)
  t.equal(loadConfig({ env: { OPG_MQTT_EMBEDDED_HOST: '127.0.0.1' } }).mqtt.embeddedHost, '127.0.0.1')
  const cert = join(dir, 'mqtt-cert.pem')
  const key = join(dir, 'mqtt-key.pem')
  writeFileSync(cert, 'x')
  writeFileSync(key, 'x')
  const tls = loadConfig({
    env: {
      OPG_MQTT_EMBEDDED_HOST: '0.0.0.0',
      OPG_MQTT_EMBEDDED_TLS_CERT_FILE: cert,
      OPG_MQTT_EMBEDDED_TLS_KEY_FILE: key,
    },
  })
  t.equal(tls.mqtt.embeddedTlsKeyFile, key, 'with a certificate and key it may')
  const half = t.throws(() =>
    loadConfig({ env: { OPG_MQTT_EMBEDDED_HOST: '0.0.0.0', OPG_MQTT_EMBEDDED_TLS_CERT_FILE: cert } }),
  ) as ConfigError
  t.match(half.issues.join('\n'), /embedded broker needs both/)
  t.equal(
    loadConfig({ env: { OPG_MQTT_EMBEDDED_HOST: '0.0.0.0', MQTT_URL: 'mqtts://broker:8883' } }).mqtt.url,
    'mqtts://broker:8883',
    'no embedded broker runs with an external one',
  )
})

t.test('a config file is read, migrated from version-less, and the environment wins', async (t) => {
  const file = join(dir, 'bridge.json')
  writeFileSync(
    file,
    JSON.stringify({ http: { port: 8443 }, holdPeriodSeconds: '1h', database: { url: '/var/lib/opg' } }),
  )
  const c = loadConfig({ env: { OPG_CONFIG_FILE: file, OPG_HTTP_PORT: '8444' } })
  t.equal(c.version, 1)
  t.equal(c.http.port, 8444)
  t.equal(c.holdPeriodSeconds, 3600)
  t.equal(c.database.url, '/var/lib/opg')
  writeFileSync(file, '{ not json')
  const err = t.throws(() =>
    loadConfig({ env: { OPG_CONFIG_FILE: file, OPG_HTTP_PORT: 'x' } }),
  ) as ConfigError
  t.equal(err.issues.length, 2, 'the broken file and the bad port, together')
})

t.test('twilio needs its account and token file', async (t) => {
  const err = t.throws(() => loadConfig({ env: { OPG_SMS_PROVIDER: 'twilio' } })) as ConfigError
  t.match(err.issues.join('\n'), /twilio provider needs/)
})

t.test('redaction hides the database and broker passwords', async (t) => {
  const c = loadConfig({
    env: { DATABASE_URL: 'postgres://opg:s3cret@db/opg', MQTT_URL: 'mqtts://u:p4ss@broker' },
  })
  const r = JSON.stringify(redactConfig(c))
  t.notMatch(r, /s3cret|p4ss/)
  t.match(r, /postgres:\/\/opg:\*\*\*@db\/opg/)
  t.equal(c.database.url, 'postgres://opg:s3cret@db/opg', 'the original is untouched')
})

t.test('money mode fails closed: live by default, the sandbox only in test mode', async (t) => {
  const live = loadConfig({ env: {} })
  t.equal(live.mode, 'live', 'no mode given means real money')
  t.equal(live.payments.provider, 'adapter', 'so a real provider adapter is needed to start')
  const test = loadConfig({ env: { OPG_MODE: 'test' } })
  t.equal(test.payments.provider, 'sandbox', 'test mode runs the sandbox')
  const err = t.throws(() => loadConfig({ env: { OPG_PAYMENTS_PROVIDER: 'sandbox' } })) as ConfigError
  t.match(err.issues.join('\n'), /payments\.provider: the sandbox card provider .* only with mode: test/)
  t.throws(() => loadConfig({ env: { OPG_MODE: 'production' } }), ConfigError, 'an unknown mode is refused')
})

t.test('API limits and top-up limits come from the environment', async (t) => {
  const c = loadConfig({
    env: {
      OPG_TRUST_PROXY: '1',
      OPG_RATE_LIMIT_PER_KEY: '50',
      OPG_AUTH_FAILURES_LIMIT: '5',
      OPG_TOPUP_LIMIT_WALLET_DAILY: '20000',
      OPG_TOPUP_LIMIT_TENANT_DAILY: '900000',
    },
  })
  t.equal(c.http.trustProxy, true)
  t.equal(c.http.rateLimitPerKeyPerMinute, 50)
  t.equal(c.http.authFailuresPer15Minutes, 5)
  t.equal(c.payments.topupLimitPerWalletDaily, 20000)
  t.equal(c.payments.topupLimitPerTenantDaily, 900000)
  const d = loadConfig({ env: {} })
  t.equal(d.http.trustProxy, false, 'X-Forwarded-For is not trusted by default')
})

t.test('ingest connections by default: two per core, two short of the database pool', async (t) => {
  t.equal(defaultMqttConnections(1, 10), 2)
  t.equal(defaultMqttConnections(2, 10), 4)
  t.equal(defaultMqttConnections(4, 10), 8)
  t.equal(defaultMqttConnections(16, 10), 8, 'never more batches than pool connections to spare')
  t.equal(defaultMqttConnections(4, 2), 1, 'at least one')
})
