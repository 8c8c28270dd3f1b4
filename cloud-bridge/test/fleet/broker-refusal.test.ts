// The external broker refuses the bridge when it reconnects (its password was rotated on the broker first):
// every MQTT client of the bridge's reports it and keeps trying, the bridge lives on, and all four are back
// once the broker takes the password again. Before, the two publishing clients had no 'error' listener (the
// refused CONNACK ended the process), and no client tried again after a refusal (mqtt.js stops at the first
// unless told otherwise). /metrics shows each client's link (opg_mqtt_connected, alert OpgBridgeOffBroker).
// A private Mosquitto 2 with a password file; the bridge on PGlite in memory.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { nodeBackend as c } from '@opg/protocol/node'
import mqtt from 'mqtt'
import t from 'tap'
import { Bridge } from '../../src/bridge.js'
import { loadConfig } from '../../src/config.js'
import { createLogger } from '../../src/logger.js'

const installed = (() => {
  try {
    execFileSync('mosquitto_passwd', ['-h'], { stdio: 'ignore' })
    return true
  } catch (err) {
    // mosquitto_passwd -h exits non-zero after printing its usage; only a missing binary is ENOENT.
    return (err as NodeJS.ErrnoException).code !== 'ENOENT'
  }
})()
if (!installed && process.env.CI) t.fail('mosquitto_passwd is not installed')

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })

t.test('a broker that refuses the bridge on reconnect', { skip: !installed && 'no Mosquitto' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'opg-refusal-'))
  // Started as root, Mosquitto drops to its own user, which must read its config and password file here.
  chmodSync(dir, 0o755)
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const port = await freePort()
  const passwords = join(dir, 'passwords')
  const setPassword = (password: string) => {
    execFileSync('mosquitto_passwd', ['-b', '-c', passwords, 'bridge', password])
    chmodSync(passwords, 0o644)
  }
  const conf = join(dir, 'mosquitto.conf')
  writeFileSync(
    conf,
    `listener ${port} 127.0.0.1\nallow_anonymous false\npassword_file ${passwords}\nsys_interval 1\n`,
  )
  let broker: ChildProcess | undefined
  const startBroker = async () => {
    broker = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' })
    for (let i = 0; i < 50; i++) {
      const up = await mqtt
        .connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 500 }, false)
        .then((cl) => cl.endAsync().then(() => true))
        .catch((err: { code?: unknown }) => typeof err.code === 'number') // a CONNACK refusal: listening
      if (up) return
      await sleep(100)
    }
    throw new Error('mosquitto did not start')
  }
  const stopBroker = async () => {
    const b = broker
    if (!b || b.exitCode !== null) return
    await new Promise((resolve) => {
      b.once('exit', resolve)
      b.kill('SIGTERM')
    })
  }
  t.teardown(stopBroker)
  setPassword('first-password')
  await startBroker()

  writeFileSync(join(dir, 'bridge-password'), 'first-password\n')
  writeFileSync(join(dir, 'metrics-token'), 'scrape\n')
  const keyFile = join(dir, 'master.key')
  writeFileSync(keyFile, Buffer.from(c.randomBytes(16)).toString('hex'))
  const config = loadConfig({
    env: {
      OPG_MASTER_KEY_FILE: keyFile,
      OPG_MODE: 'test',
      OPG_HTTP_PORT: '0',
      MQTT_URL: `mqtt://127.0.0.1:${port}`,
      OPG_MQTT_USERNAME: 'bridge',
      OPG_MQTT_PASSWORD_FILE: join(dir, 'bridge-password'),
      OPG_MQTT_CONNECTIONS: '1',
      OPG_METRICS_TOKEN_FILE: join(dir, 'metrics-token'),
      OPG_VERIFY_WORKERS: '0',
      OPG_LOG_LEVEL: 'warn',
    },
  })
  const lines: string[] = []
  const logger = createLogger('warn', { write: (line: string) => lines.push(line) })
  const bridge = new Bridge({ config, logger })
  await bridge.start()
  t.teardown(() => bridge.stop())
  /** opg_mqtt_connected by client id, as Prometheus would scrape it. */
  const links = async () => {
    const res = await bridge.app.request('/metrics', { headers: { authorization: 'Bearer scrape' } })
    const text = await res.text()
    return Object.fromEntries(
      [...text.matchAll(/^opg_mqtt_connected\{client="([^"]+)"\} (\d+)$/gm)].map((m) => [m[1], Number(m[2])]),
    )
  }
  const id = config.mqtt.clientId
  const all = (v: number) => ({ [id]: v, [`${id}-pub`]: v, [`${id}-cmd`]: v, [`${id}-boxcmd`]: v })
  t.same(await links(), all(1), '/metrics: the four clients connected')

  // The broker's password is rotated before the bridge's: on restart it refuses the bridge's clients.
  setPassword('second-password')
  await stopBroker()
  await startBroker()
  await sleep(3_000)
  const refused = lines.filter((l) => /Bad User Name or Password|Not authorized/i.test(l))
  const publishers = new Set(
    refused.map((l) => JSON.parse(l).clientId).filter((id: unknown) => /-(cmd|boxcmd)$/.test(String(id))),
  )
  t.same(
    [...publishers].sort(),
    [`${config.mqtt.clientId}-boxcmd`, `${config.mqtt.clientId}-cmd`].sort(),
    'both publishers report the refusal',
  )
  t.ok(refused.length >= 3, `every client reports it (${refused.length} refusals logged)`)
  t.same(await links(), all(0), '/metrics: the four clients off the broker')

  // The broker takes the bridge's password again: the bridge, still running, has all its clients back.
  setPassword('first-password')
  await stopBroker()
  await startBroker()
  const watcher = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    username: 'bridge',
    password: 'first-password',
    clientId: 'refusal-watcher',
  })
  t.teardown(() => watcher.endAsync())
  const bridgeClients = await new Promise<number>((resolve) => {
    const timer = setTimeout(() => resolve(-1), 10_000)
    watcher.on('message', (_topic, payload) => {
      // Connected clients less the watcher; the consumer's subscriber and publisher and the two publishers.
      const n = Number(payload.toString()) - 1
      if (n >= 4) {
        clearTimeout(timer)
        resolve(n)
      }
    })
    void watcher.subscribeAsync('$SYS/broker/clients/connected')
  })
  t.equal(bridgeClients, 4, "the bridge's four clients reconnected")
  t.same(await links(), all(1), '/metrics: connected again')
})
