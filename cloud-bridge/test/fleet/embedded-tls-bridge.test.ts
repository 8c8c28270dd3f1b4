// A bridge whose embedded broker listens on every address: only over TLS, with a certificate that names the
// public host. The bridge's own clients still reach it (over loopback, chain verified), and outsiders still
// need a login.
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import t from 'tap'
import { Bridge } from '../../src/bridge.js'
import { loadConfig } from '../../src/config.js'
import { createLogger } from '../../src/logger.js'

t.setTimeout(180_000)

t.test('embedded broker on 0.0.0.0 over TLS: the bridge starts, strangers are refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'opg-embedded-tls-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'key.pem']
      .concat(['-out', 'cert.pem', '-days', '1', '-subj', '/CN=broker.example'])
      .concat(['-addext', 'subjectAltName=DNS:broker.example']),
    { cwd: dir, stdio: 'ignore' },
  )
  writeFileSync(join(dir, 'master.key'), randomBytes(16).toString('hex'))
  const env = {
    DATABASE_URL: 'memory:',
    OPG_MASTER_KEY_FILE: join(dir, 'master.key'),
    OPG_HTTP_PORT: '0',
    OPG_MQTT_EMBEDDED_HOST: '0.0.0.0',
    OPG_MQTT_EMBEDDED_PORT: '0',
    OPG_VERIFY_WORKERS: '0',
    OPG_LOG_LEVEL: 'silent',
    OPG_MODE: 'test',
  }
  t.throws(() => loadConfig({ env }), { code: 'bad_config' }, 'not without TLS')
  const config = loadConfig({
    env: {
      ...env,
      OPG_MQTT_EMBEDDED_TLS_CERT_FILE: join(dir, 'cert.pem'),
      OPG_MQTT_EMBEDDED_TLS_KEY_FILE: join(dir, 'key.pem'),
    },
  })
  const bridge = new Bridge({ config, logger: createLogger('silent') })
  const ends = await bridge.start()
  t.teardown(() => bridge.stop())
  t.match(ends.mqttUrl, /^mqtts:\/\/0\.0\.0\.0:\d+$/, 'the bridge (consumer and command client) is connected')
  const port = new URL(ends.mqttUrl).port
  const ca = readFileSync(join(dir, 'cert.pem'))
  const opts = { ca, servername: 'broker.example', reconnectPeriod: 0, protocolVersion: 4 as const }
  await t.rejects(
    mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, { ...opts, clientId: 'stranger' }, false),
    /Not authorized/,
    'TLS alone is no login',
  )
  await t.rejects(
    mqtt.connectAsync(
      `mqtts://127.0.0.1:${port}`,
      { ...opts, clientId: `${config.mqtt.clientId}-x`, username: 'opg-bridge', password: 'guess' },
      false,
    ),
    /Bad username or password/,
    "the bridge's login is not guessable",
  )
})
