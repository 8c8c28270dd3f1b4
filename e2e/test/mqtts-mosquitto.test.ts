// The production broker setup, for real: a throwaway CA issues the broker's, the bridge's and the boxes'
// certificates; `opg-bridge broker-config` writes mosquitto.conf and the ACL from the fleet in PostgreSQL; a real
// Mosquitto runs them (TLS listeners, require_certificate, use_identity_as_username). The real bridge and a box's
// real sync engine go through it; boxes with the wrong certificate, a self-signed one or none are turned away, and
// a box cannot read, write or take over another box's session.
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { Bridge, createLogger, deviceSecretAad, loadConfig, loadMasterKey, runCli } from '@opg/cloud-bridge'
import { brokerUsername } from '@opg/protocol'
import { nodeBackend as c } from '@opg/protocol/node'
import mqtt, { type IClientOptions } from 'mqtt'
import t from 'tap'
import { migrate } from '../../cloud-bridge/src/db/migrate.js'
import { openDb } from '../../cloud-bridge/src/db/open.js'
import { MERCHANT, TENANT } from '../../node-runtime/test/accept/fixtures.js'
import { makeSyncRig, pay } from '../../node-runtime/test/sync/setup.js'
import { createScratchDb } from '../src/services.js'
import { freePort, MosquittoProcess, Pki } from '../src/tls-broker.js'
import { waitUntil } from '../src/wait.js'

t.setTimeout(300_000)

/** A raw MQTT client over TLS; rejects when the broker (or TLS) refuses, never retries. */
async function tlsClient(
  port: number,
  o: IClientOptions & { certFiles?: { cert: string; key: string }; ca: string },
) {
  const { certFiles, ca, ...rest } = o
  return mqtt.connectAsync(
    `mqtts://127.0.0.1:${port}`,
    {
      ca: await readFile(ca),
      ...(certFiles ? { cert: await readFile(certFiles.cert), key: await readFile(certFiles.key) } : {}),
      rejectUnauthorized: true,
      reconnectPeriod: 0,
      connectTimeout: 5_000,
      protocolVersion: 5,
      ...rest,
    },
    false,
  )
}

t.test('mqtts with client certificates through a real Mosquitto', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'opg-mqtts-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const scratch = await createScratchDb()
  t.teardown(() => scratch.drop())

  // The fleet: two boxes of one tenant, registered as the bridge registers them (secret sealed at rest).
  const masterKeyFile = join(dir, 'master.key')
  await writeFile(masterKeyFile, `${randomBytes(16).toString('hex')}\n`, { mode: 0o600 })
  const master = loadMasterKey(c, masterKeyFile)
  const [boxPort, bridgePort] = [await freePort(), await freePort()]
  // Box A's real sync engine; its TLS material is filled in once its certificate (CN from its id) exists.
  const tlsA: { ca?: Uint8Array; cert?: Uint8Array; key?: Uint8Array } = {}
  const rigA = makeSyncRig(`mqtts://127.0.0.1:${boxPort}`, { tls: tlsA })
  const rigB = makeSyncRig(`mqtts://127.0.0.1:${boxPort}`, {})
  const db = await openDb(scratch.url)
  await migrate(db)
  await db.query("INSERT INTO tenants (id, name, currency) VALUES ($1, 'tls', 'EUR')", [TENANT])
  await db.query("INSERT INTO merchants (tenant_id, id, name) VALUES ($1, $2, 'shop')", [TENANT, MERCHANT])
  for (const rig of [rigA, rigB]) {
    const id = rig.world.deviceId
    await db.query(
      'INSERT INTO devices (tenant_id, id, merchant_id, sealed_secret) VALUES ($1, $2, $3, $4)',
      [TENANT, id, MERCHANT, master.seal(rig.world.deviceSecret, deviceSecretAad(TENANT, id))],
    )
  }
  await db.close()
  const userA = brokerUsername(TENANT, rigA.world.deviceId)
  const userB = brokerUsername(TENANT, rigB.world.deviceId)

  const pki = new Pki(dir)
  const boxesCa = pki.ca('boxes-ca')
  pki.ca('bridge-ca')
  const server = pki.issue('server', '127.0.0.1', 'boxes-ca', 'server')
  const certA = pki.issue('box-a', userA, 'boxes-ca', 'client')
  const certB = pki.issue('box-b', userB, 'boxes-ca', 'client')
  const bridgeCert = pki.issue('bridge', 'opg-bridge', 'bridge-ca', 'client')
  const forgedA = pki.selfSigned('forged-a', userA)

  const env = {
    DATABASE_URL: scratch.url,
    OPG_MASTER_KEY_FILE: masterKeyFile,
    OPG_HTTP_PORT: '0',
    OPG_VERIFY_WORKERS: '0',
    OPG_LOG_LEVEL: 'silent',
    // The sandbox card provider (no real PSP here) runs only in test mode.
    OPG_MODE: 'test',
  }
  const out = new PassThrough()
  let printed = ''
  out.on('data', (d) => {
    printed += d
  })
  const configArgs = [
    'broker-config',
    '--out',
    join(dir, 'broker'),
    ...['--port', String(boxPort), '--bind', '127.0.0.1'],
    ...['--bridge-port', String(bridgePort), '--bridge-bind', '127.0.0.1'],
    ...['--cafile', boxesCa.cert, '--bridge-cafile', join(dir, 'bridge-ca.pem')],
    ...['--certfile', server.cert, '--keyfile', server.key],
    // Started as root, Mosquitto would drop to its own account, which cannot read this private folder.
    ...['--user', userInfo().username],
  ]
  const code = await runCli(configArgs, { env, stdout: out, stderr: out })
  t.equal(code, 0, `broker-config ran: ${printed}`)
  const acl = await readFile(join(dir, 'broker', 'opg.acl'), 'utf8')
  t.match(
    acl,
    `user ${userA}\ntopic write opg/v1/${TENANT}/${rigA.world.deviceId}/up/tx`,
    'the ACL names each box',
  )

  const broker = new MosquittoProcess(join(dir, 'broker', 'mosquitto.conf'))
  t.teardown(() => broker.stop())
  await broker.start([boxPort, bridgePort])

  const bridge = new Bridge({
    config: loadConfig({
      env: {
        ...env,
        MQTT_URL: `mqtts://127.0.0.1:${bridgePort}`,
        OPG_MQTT_CA_FILE: boxesCa.cert,
        OPG_MQTT_CERT_FILE: bridgeCert.cert,
        OPG_MQTT_KEY_FILE: bridgeCert.key,
        OPG_MQTT_CLIENT_ID: `opg-bridge-tls-${process.pid}`,
      },
    }),
    logger: createLogger('silent'),
  })
  await bridge.start()
  t.teardown(() => bridge.stop())
  const ca = boxesCa.cert

  // A bridge-side observer: every box's uplink as the broker delivers it.
  const observer = await tlsClient(bridgePort, {
    ca,
    certFiles: bridgeCert,
    clientId: `observer-${process.pid}`,
  })
  t.teardown(() => observer.endAsync(true))
  const seen: { topic: string; payload: Buffer }[] = []
  observer.on('message', (topic, payload) => seen.push({ topic, payload }))
  await observer.subscribeAsync('opg/v1/+/+/up/#', { qos: 1 })

  const deviceRow = async (id: string) =>
    (
      await bridge.db.query<{ online: boolean; status: { session?: string } | null }>(
        'SELECT online, status FROM devices WHERE tenant_id = $1 AND id = $2',
        [TENANT, id],
      )
    ).rows[0]

  t.teardown(() => rigA.engine.stop())
  await t.test('the right box connects and syncs through the bridge', async (t) => {
    Object.assign(tlsA, {
      ca: await readFile(ca),
      cert: await readFile(certA.cert),
      key: await readFile(certA.key),
    })
    const rejected: string[] = []
    rigA.engine.on('rejected', (items) => rejected.push(...items.map((i) => i.code)))
    await pay(rigA, 3)
    rigA.engine.start()
    const done = await rigA.engine.syncNow(60_000)
    t.equal(done.pendingCount, 0, 'every payment acknowledged by the bridge')
    // The test wallets' issuer is not this tenant's: the bridge opened the sealed batch with box A's key,
    // refused the tokens with their reason, kept them, and said so in its ack.
    t.same(rejected, ['unknown_key', 'unknown_key', 'unknown_key'], 'the ack came back through the broker')
    const kept = await bridge.db.query(
      "SELECT 1 FROM refused_tokens WHERE tenant_id = $1 AND received_from = $2 AND source = 'box'",
      [TENANT, rigA.world.deviceId],
    )
    t.equal(kept.rows.length, 3, "kept for the operator under box A's id")
    await waitUntil(
      'the bridge to see box A online',
      async () => (await deviceRow(rigA.world.deviceId))?.online,
    )
  })

  await t.test('wrong, self-signed or missing certificates are turned away', async (t) => {
    await t.rejects(tlsClient(boxPort, { ca, clientId: rigA.world.deviceId }), 'no certificate')
    await t.rejects(
      tlsClient(boxPort, { ca, certFiles: forgedA, clientId: rigA.world.deviceId }),
      'a self-signed certificate with box A in it',
    )
    await t.rejects(
      tlsClient(boxPort, {
        ca,
        certFiles: { cert: certA.cert, key: certB.key },
        clientId: rigA.world.deviceId,
      }),
      "box A's certificate without box A's key",
    )
    await t.rejects(
      tlsClient(bridgePort, { ca, certFiles: certA, clientId: `opg-bridge-tls-${process.pid}` }),
      "a box certificate on the bridge's listener",
    )
    t.ok(rigA.engine.online, 'box A was never disturbed')
  })

  await t.test(
    "another box's certificate reads and writes nothing of box A's, and takes over nothing",
    async (t) => {
      // Box B's own certificate, claiming box A's client id and username: Mosquitto makes it box B.
      const b = await tlsClient(boxPort, {
        ca,
        certFiles: certB,
        clientId: rigA.world.deviceId,
        username: userA,
      })
      t.teardown(() => b.endAsync(true))
      const got: string[] = []
      b.on('message', (topic) => got.push(topic))
      const base = `opg/v1/${TENANT}/${rigA.world.deviceId}`
      await b.subscribeAsync([`${base}/down/#`, '#', 'opg/v1/+/+/up/#'], { qos: 1 }).catch(() => [])
      await new Promise((r) => setTimeout(r, 500))
      t.ok(rigA.engine.online, "box A's session was not taken over")
      const before = seen.length
      const session = (await deviceRow(rigA.world.deviceId))?.status?.session
      t.match(session, /^[0-9a-f]{16}$/, "the bridge knows box A's session")
      // A forged offline and a forged batch on box A's topics, and box A's real traffic.
      await b.publishAsync(`${base}/up/status`, Buffer.from([0]), { qos: 1, retain: true }).catch(() => {})
      await b.publishAsync(`${base}/up/tx`, Buffer.from('forged'), { qos: 1 }).catch(() => {})
      await pay(rigA, 1)
      rigA.engine.kick()
      await rigA.engine.syncNow(30_000)
      await rigA.engine.publishStatus()
      await waitUntil('box A traffic at the bridge', () => seen.length > before)
      t.same(
        seen.slice(before).filter((m) => m.payload.length <= 6),
        [],
        "box B's publishes on box A's topics never reached the bridge",
      )
      t.same(got, [], "box B received none of box A's acks or uplink")
      t.equal((await deviceRow(rigA.world.deviceId))?.online, true, 'box A is still online at the bridge')
    },
  )

  await t.test('box A going away is seen at the bridge only through its own sealed status', async (t) => {
    const before = seen.length
    await rigA.engine.stop()
    await waitUntil(
      'the bridge to see box A offline',
      async () => (await deviceRow(rigA.world.deviceId))?.online === false,
    )
    t.ok(
      seen.slice(before).some((m) => m.topic.endsWith('/up/status') && m.payload.length > 1),
      'a sealed offline status, not the bare 0x00',
    )
  })

  await t.test('a box revoked, the ACL regenerated and reloaded: shut out without a restart', async (t) => {
    const b = await tlsClient(boxPort, { ca, certFiles: certB, clientId: `b-${process.pid}` })
    t.teardown(() => b.endAsync(true))
    const topicB = `opg/v1/${TENANT}/${rigB.world.deviceId}/up/tx`
    const heard = (text: string) => seen.some((m) => m.topic === topicB && m.payload.toString() === text)
    await b.publishAsync(topicB, Buffer.from('before revocation'), { qos: 1 })
    await waitUntil("box B's publish at the bridge", () => heard('before revocation'))
    await bridge.db.query('UPDATE devices SET revoked_at = now() WHERE tenant_id = $1 AND id = $2', [
      TENANT,
      rigB.world.deviceId,
    ])
    t.equal(await runCli(configArgs, { env, stdout: out, stderr: out }), 0, 'broker-config again')
    t.notMatch(await readFile(join(dir, 'broker', 'opg.acl'), 'utf8'), userB, 'box B left the ACL')
    broker.reload()
    await waitUntil('Mosquitto to reload', () => broker.log.includes('Reloading config'), {
      timeoutMs: 10_000,
    })
    await b.publishAsync(topicB, Buffer.from('after revocation'), { qos: 1 }).catch(() => {})
    await new Promise((r) => setTimeout(r, 1_000))
    t.notOk(heard('after revocation'), "box B's publish no longer reaches the bridge")
  })
})
