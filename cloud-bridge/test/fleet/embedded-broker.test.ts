// The embedded broker, probed as an attacker would: anonymous and wrong logins, another box's password, the
// bridge's client id, `#` subscriptions, publishing on another box's topics, a revoked box, a suspended tenant.
// Real aedes on a real socket, real mqtt.js clients, the devices table on both database engines.
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { brokerPassword, brokerUsername, newId8 } from '@opg/protocol'
import { nodeBackend as c } from '@opg/protocol/node'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import t from 'tap'
import type { Db } from '../../src/db/types.js'
import { BrokerGate, sqlBrokerDirectory } from '../../src/fleet/broker-gate.js'
import { EmbeddedBroker, type PresenceEvent } from '../../src/fleet/embedded-broker.js'
import { forEachDatabase, seedTenant } from '../support/databases.js'

t.setTimeout(240_000)

/** A box row whose "sealed" secret is 12 zero bytes + secret + 16 zero bytes (the unseal below slices it). */
async function addBox(db: Db, tenantId: string) {
  const merchantId = newId8(c)
  await db.query('INSERT INTO merchants (tenant_id, id, name) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
    tenantId,
    merchantId,
    'shop',
  ])
  const deviceId = newId8(c)
  const secret = new Uint8Array(randomBytes(16))
  await db.query('INSERT INTO devices (tenant_id, id, merchant_id, sealed_secret) VALUES ($1, $2, $3, $4)', [
    tenantId,
    deviceId,
    merchantId,
    Buffer.concat([Buffer.alloc(12), secret, Buffer.alloc(16)]),
  ])
  const login = {
    clientId: deviceId,
    username: brokerUsername(tenantId, deviceId),
    password: brokerPassword(c, secret, deviceId),
  }
  return { tenantId, deviceId, login, base: `opg/v1/${tenantId}/${deviceId}` }
}

/** Connect, or reject with the CONNACK refusal; never retries. */
async function connect(url: string, o: IClientOptions): Promise<MqttClient> {
  return mqtt.connectAsync(
    url,
    { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5_000, ...o },
    false,
  )
}

/** Resolves with the first message on `client` matching `topic`, or null after `ms`. */
function nextMessage(client: MqttClient, topic: string, ms = 800): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      client.off('message', on)
      resolve(null)
    }, ms)
    const on = (tp: string, payload: Buffer) => {
      if (tp !== topic) return
      clearTimeout(timer)
      client.off('message', on)
      resolve(payload)
    }
    client.on('message', on)
  })
}

const closed = (client: MqttClient) =>
  new Promise<void>((resolve) => {
    if (!client.connected) return resolve()
    client.once('close', () => resolve())
  })

/** A self-signed certificate for 127.0.0.1 (openssl: node cannot make X.509 certificates). */
function selfSigned(): { cert: Buffer; key: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'opg-mqtts-'))
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        'key.pem',
      ].concat([
        '-out',
        'cert.pem',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ]),
      { cwd: dir, stdio: 'ignore' },
    )
    return { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

forEachDatabase(t, async (t, db) => {
  const tenantId = await seedTenant(db)
  const a = await addBox(db, tenantId)
  const b = await addBox(db, tenantId)
  const bridgeLogin = { username: 'opg-bridge', password: randomBytes(24).toString('base64url') }
  const presence: PresenceEvent[] = []
  const broker = new EmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    gate: new BrokerGate({
      directory: sqlBrokerDirectory(db, (sealed) => sealed.slice(12, 28)),
      bridge: bridgeLogin,
      bridgeClientId: 'opg-bridge-test',
    }),
    onPresence: (e) => presence.push(e),
    revalidateMs: 3_600_000,
  })
  const url = await broker.start()
  t.teardown(() => broker.stop())
  const clients: MqttClient[] = []
  const open = async (o: IClientOptions) => {
    const cl = await connect(url, o)
    clients.push(cl)
    return cl
  }
  t.teardown(() => Promise.all(clients.map((cl) => cl.endAsync(true))))
  const bridge = await open({ ...bridgeLogin, clientId: 'opg-bridge-test' })

  await t.test('nobody gets in without the right login', async (t) => {
    await t.rejects(connect(url, { clientId: 'anon' }), /Not authorized/, 'anonymous')
    await t.rejects(
      connect(url, { ...a.login, password: brokerPassword(c, randomBytes(16), a.deviceId) }),
      /Bad username or password/,
      'a wrong password',
    )
    await t.rejects(
      connect(url, { ...a.login, username: b.login.username }),
      /Bad username or password/,
      "one box's password for another box",
    )
    await t.rejects(
      connect(url, { ...bridgeLogin, password: 'guess', clientId: 'opg-bridge-test-x' }),
      /Bad username or password/,
      'a guessed bridge password',
    )
    await t.rejects(
      connect(url, { ...a.login, username: brokerUsername(tenantId, newId8(c)) }),
      /Bad username or password/,
      'an unknown box answers like a wrong password',
    )
  })

  await t.test('client ids are bound to identities: no session takeover', async (t) => {
    await t.rejects(
      connect(url, { ...a.login, clientId: 'opg-bridge-test' }),
      /Identifier rejected/,
      "a box cannot use the bridge's client id",
    )
    await t.rejects(
      connect(url, { ...a.login, clientId: b.deviceId }),
      /Identifier rejected/,
      "a box cannot use another box's client id",
    )
    await t.rejects(
      connect(url, { ...bridgeLogin, clientId: a.deviceId }),
      /Identifier rejected/,
      "even the bridge's login does not take over a box's session",
    )
    t.ok(bridge.connected, 'the bridge was never disconnected')
  })

  await t.test('a box reads and writes only its own topics, in its own direction', async (t) => {
    const boxA = await open(a.login)
    const boxB = await open(b.login)
    // mqtt.js rejects a refused filter; the SUBACK code (0x80 = 128) is on the error's packet.
    const granted = (cl: MqttClient, filter: string) =>
      cl.subscribeAsync(filter, { qos: 1 }).then(
        (g) => g[0]?.qos,
        (err: { packet?: { granted?: number[] } }) => err.packet?.granted?.[0],
      )
    t.equal(await granted(boxA, '#'), 128, 'no # for a box')
    t.equal(await granted(boxA, 'opg/v1/+/+/up/#'), 128, "no box reads the boxes' uplink")
    t.equal(await granted(boxA, `${b.base}/down/#`), 128, "nor another box's downlink")
    t.equal(await granted(boxA, `${a.base}/up/tx`), 128, 'nor its own uplink')
    t.equal(await granted(boxA, `${a.base}/down/#`), 1, 'its own downlink, yes')
    t.equal(await granted(bridge, 'opg/v1/+/+/up/#'), 1, 'the bridge reads every uplink')
    t.equal(await granted(bridge, '#'), 128, 'but not everything')

    const gotUp = nextMessage(bridge, `${a.base}/up/tx`)
    await boxA.publishAsync(`${a.base}/up/tx`, Buffer.from('sealed batch'), { qos: 1 })
    t.same(await gotUp, Buffer.from('sealed batch'), 'its own up/tx reaches the bridge')
    const gotDown = nextMessage(boxA, `${a.base}/down/ack`)
    await bridge.publishAsync(`${a.base}/down/ack`, Buffer.from('ack'), { qos: 1 })
    t.same(await gotDown, Buffer.from('ack'), 'the bridge reaches the box')

    // Publishing on another box's topic (or downstream) is refused, and the offender is disconnected.
    for (const [topic, what] of [
      [`${b.base}/up/status`, "another box's status (a forged offline)"],
      [`${a.base}/down/cmd`, 'a command to itself'],
      ['opg/v1/x', 'a topic outside the tree'],
    ] as const) {
      const offender = await open(a.login)
      const heard = nextMessage(bridge, topic)
      const gone = closed(offender)
      offender.publish(topic, Buffer.from([0]), { qos: 0 })
      await gone
      t.equal(await heard, null, `${what}: not delivered`)
    }
    t.ok(boxB.connected, 'the other box was never disturbed')
  })

  await t.test(
    'presence is the broker view; a revoked box or a suspended tenant is refused and dropped',
    async (t) => {
      presence.length = 0
      const boxB = await open(b.login)
      await new Promise((r) => setTimeout(r, 100))
      t.match(presence.at(-1), { deviceId: b.deviceId, online: true }, 'connect → online')
      // A reconnect replaces the session; the old connection closing does not mark the box offline.
      const again = await open(b.login)
      await closed(boxB)
      await new Promise((r) => setTimeout(r, 100))
      t.match(presence.at(-1), { deviceId: b.deviceId, online: true }, 'still online after its own reconnect')

      await db.query('UPDATE devices SET revoked_at = now() WHERE tenant_id = $1 AND id = $2', [
        tenantId,
        b.deviceId,
      ])
      const gone = closed(again)
      t.equal(await broker.revalidate(), 1, 'the sweep drops the revoked box')
      await gone
      await new Promise((r) => setTimeout(r, 100))
      t.match(presence.at(-1), { deviceId: b.deviceId, online: false }, 'disconnect → offline')
      await t.rejects(connect(url, b.login), /Not authorized/, 'a revoked box cannot come back')

      await db.query("UPDATE tenants SET status = 'suspended' WHERE id = $1", [tenantId])
      await t.rejects(connect(url, a.login), /Not authorized/, 'nor a box of a suspended tenant')
      await db.query("UPDATE tenants SET status = 'active' WHERE id = $1", [tenantId])
      const back = await open(a.login)
      t.ok(back.connected, 'an active tenant’s box connects again')
    },
  )

  await t.test(
    'over TLS (mqtts://): the same login, and only for clients that trust the certificate',
    async (t) => {
      const tls = selfSigned()
      const secure = new EmbeddedBroker({
        host: '127.0.0.1',
        port: 0,
        tls,
        gate: new BrokerGate({
          directory: sqlBrokerDirectory(db, (sealed) => sealed.slice(12, 28)),
          bridge: bridgeLogin,
          bridgeClientId: 'opg-bridge-test',
        }),
      })
      const surl = await secure.start()
      t.teardown(() => secure.stop())
      t.match(surl, /^mqtts:\/\/127\.0\.0\.1:\d+$/)
      const box = await connect(surl, { ...a.login, ca: tls.cert, rejectUnauthorized: true })
      t.ok(box.connected, 'a box with its login, trusting the broker certificate')
      await box.endAsync()
      await t.rejects(
        connect(surl, { ...a.login, rejectUnauthorized: true }),
        'a client that does not trust it',
      )
      await t.rejects(connect(surl, { clientId: 'anon', ca: tls.cert }), /Not authorized/, 'TLS is no login')
    },
  )
})
