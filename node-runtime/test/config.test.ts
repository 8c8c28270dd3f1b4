/**
 * Config fails closed: every problem reported at once, environment overrides, migrations, key files that
 * must exist (no default keys), secrets that never print, and an identity check that ties keys,
 * certificate and config together.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import t from 'tap'
import { ConfigError, loadConfigFile, loadSecrets, parseConfig, redactConfig } from '../src/config/index.js'
import { checkIdentity } from '../src/node/identity.js'
import { c, makeWorld, randomId } from './accept/fixtures.js'
import { provisionBox } from './sync/provision.js'

async function tempDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'opg-config-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

t.test('a provisioned config loads with defaults applied', async (t) => {
  const box = await provisionBox(await tempDir(t), makeWorld(randomId()))
  const { config, migrations } = await loadConfigFile(box.configPath, {})
  t.same(migrations, [])
  t.equal(config.exposure.maxUnsyncedTotal, 50_000)
  t.equal(config.sync.batchSize, 200)
  t.equal(config.mqtt.url, 'mqtt://127.0.0.1:1')
  t.equal(config.currency, 'EUR')
})

t.test('every problem is reported at once', async (t) => {
  const err = t.throws(() =>
    parseConfig({
      version: 2,
      tenantId: 'not-hex',
      merchantId: '1111222233334444',
      deviceId: 'D0D1D2D3D4D5D6D7',
      issuerKeys: {},
      mqtt: { url: 'mqtt://broker.example.com:1883' },
      exposure: { maxUnsyncedTotal: -5 },
    }),
  ) as ConfigError
  t.ok(err instanceof ConfigError)
  t.equal(err.code, 'config_invalid')
  const text = err.problems.join('\n')
  for (const path of [
    'tenantId',
    'deviceId',
    'keys',
    'issuerKeys',
    'exposure.maxUnsyncedTotal',
    'mqtt.url',
  ]) {
    t.match(text, path, `reports ${path}`)
  }
})

t.test('there are no default keys: a config without key files is invalid', async (t) => {
  const err = t.throws(() =>
    parseConfig({
      tenantId: randomId(),
      merchantId: randomId(),
      deviceId: randomId(),
      issuerKeys: { aa: 'b'.repeat(64) },
    }),
  ) as ConfigError
  t.match(err.problems.join('\n'), /^keys: /m)
})

t.test('environment overrides file values; ids stay strings', async (t) => {
  const box = await provisionBox(await tempDir(t), makeWorld(randomId()))
  const { config } = await loadConfigFile(box.configPath, {
    OPG_MQTT__URL: 'mqtt://localhost:1884',
    OPG_EXPOSURE__MAX_UNSYNCED_TOTAL: '1234',
    OPG_MERCHANT_ID: '0000000000001234',
    OPG_HARDWARE__BLE_ENABLED: 'false',
    UNRELATED: 'x',
  })
  t.equal(config.mqtt.url, 'mqtt://localhost:1884')
  t.equal(config.exposure.maxUnsyncedTotal, 1234)
  t.equal(config.merchantId, '0000000000001234')
  t.equal(config.hardware.bleEnabled, false)
})

t.test('a version 1 config is migrated', async (t) => {
  const { config, migrations } = parseConfig({
    version: 1,
    tenantId: randomId(),
    merchantId: randomId(),
    deviceId: randomId(),
    issuerKeys: { a1b2c3d4: 'ab'.repeat(32) },
    broker: 'mqtts://bridge.example.com:8883',
    caCert: '/etc/opg/ca.pem',
    clientCert: '/etc/opg/client.pem',
    clientKey: '/etc/opg/client.key',
    keysDir: '/etc/opg/keys/',
    caps: { total: 9_000, perWalletDay: 900 },
  })
  t.equal(migrations.length, 1)
  t.equal(config.version, 2)
  t.equal(config.mqtt.url, 'mqtts://bridge.example.com:8883')
  t.equal(config.mqtt.certFile, '/etc/opg/client.pem')
  t.equal(config.keys.deviceSecretFile, '/etc/opg/keys/device-secret')
  t.same(config.exposure, { maxUnsyncedTotal: 9_000, maxPerWalletPerDay: 900 })
})

t.test('unreadable and malformed files are config errors', async (t) => {
  const dir = await tempDir(t)
  await t.rejects(loadConfigFile(join(dir, 'absent.json'), {}), { code: 'config_unreadable' })
  await writeFile(join(dir, 'bad.json'), '{ nope')
  await t.rejects(loadConfigFile(join(dir, 'bad.json'), {}), { code: 'config_unreadable' })
})

t.test('missing key files: the box refuses, naming each one', async (t) => {
  const box = await provisionBox(await tempDir(t), makeWorld(randomId()))
  await rm(join(box.dir, 'keys', 'node-signing.key'))
  await rm(join(box.dir, 'keys', 'device-secret'))
  const { config } = await loadConfigFile(box.configPath, {})
  const err = (await loadSecrets(config).catch((e) => e)) as ConfigError
  t.equal(err.code, 'keys_missing')
  t.match(err.problems.join('\n'), /signingKeyFile[\s\S]*|deviceSecretFile/)
  t.equal(err.problems.filter((p) => p.startsWith('keys.')).length, 2)
})

t.test('a key file of the wrong size is refused', async (t) => {
  const box = await provisionBox(await tempDir(t), makeWorld(randomId()))
  await writeFile(join(box.dir, 'keys', 'device-secret'), 'abcd')
  const { config } = await loadConfigFile(box.configPath, {})
  await t.rejects(loadSecrets(config), { code: 'keys_invalid' })
})

t.test('secrets never print', async (t) => {
  const box = await provisionBox(await tempDir(t), makeWorld(randomId()))
  const { config } = await loadConfigFile(box.configPath, {})
  const secrets = await loadSecrets(config)
  const hex = Buffer.from(secrets.deviceSecret.bytes()).toString('hex')
  t.equal(secrets.deviceSecret.length, 16)
  for (const shown of [JSON.stringify(secrets), inspect(secrets, { depth: 5 }), `${secrets.signingKey}`]) {
    t.notMatch(shown, hex)
    t.match(shown, 'redacted')
  }
  const withPassword = parseConfig({ ...box.raw, mqtt: { url: 'mqtt://user:hunter2@127.0.0.1:1883' } }).config
  t.notMatch(JSON.stringify(redactConfig(withPassword)), 'hunter2')
})

t.test('identity: keys, certificate and config must belong together', async (t) => {
  const world = makeWorld(randomId())
  const box = await provisionBox(await tempDir(t), world)
  const { config } = await loadConfigFile(box.configPath, {})
  const secrets = await loadSecrets(config)
  const id = checkIdentity(c, config, secrets)
  t.equal(id.cert.deviceId, world.deviceId)

  const otherDevice = { ...config, deviceId: randomId() }
  t.throws(() => checkIdentity(c, otherDevice, secrets), { code: 'keys_invalid' })

  const other = makeWorld(world.deviceId)
  await writeFile(join(box.dir, 'keys', 'node-signing.key'), other.nodeSigning.secretKey)
  const mismatched = await loadSecrets(config)
  const err = t.throws(() => checkIdentity(c, config, mismatched)) as ConfigError
  t.match(err.problems.join('\n'), 'signing key does not match')

  // A certificate (with matching keys) from an issuer the config does not trust.
  await writeFile(join(box.dir, 'keys', 'node.cert'), other.nodeCertBytes)
  await writeFile(join(box.dir, 'keys', 'node-encryption.key'), other.nodeEncryption.secretKey)
  const foreignSecrets = await loadSecrets(config)
  const foreign = t.throws(() => checkIdentity(c, config, foreignSecrets)) as ConfigError
  t.match(foreign.problems.join('\n'), /node certificate: unknown issuer key/)
})

t.test('device-config/opg-node.example.json is valid and shows the schema defaults', async (t) => {
  const { readFile } = await import('node:fs/promises')
  const path = new URL('../../device-config/opg-node.example.json', import.meta.url)
  const example = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>
  const { config } = parseConfig(example)
  // Parse the example with every defaulted section removed: the defaults must equal what the file shows.
  const bare = parseConfig({
    ...example,
    mqtt: { url: (example.mqtt as { url: string }).url, ...tlsOf(example) },
    dataDir: undefined,
    currency: undefined,
    exposure: undefined,
    hardware: undefined,
    sync: undefined,
    log: undefined,
  }).config
  t.same(config, bare)
})

function tlsOf(example: Record<string, unknown>) {
  const { caFile, certFile, keyFile } = example.mqtt as Record<string, string>
  return { caFile, certFile, keyFile }
}
