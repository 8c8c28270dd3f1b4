// The Mosquitto config generator: the ACL follows the fleet (revoked boxes and suspended tenants drop out), the
// bridge listener never trusts the boxes' CA, and nothing Mosquitto would misparse gets written.
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { brokerUsername, newId8 } from '@opg/protocol'
import { nodeBackend as c } from '@opg/protocol/node'
import t from 'tap'
import { runCli } from '../../src/cli.js'
import { brokerFleet, mosquittoAcl, mosquittoConf } from '../../src/fleet/broker-config.js'
import { forEachDatabase, seedTenant } from '../support/databases.js'

const files = {
  cafile: '/etc/opg/boxes-ca.pem',
  bridgeCafile: '/etc/opg/bridge-ca.pem',
  certfile: '/etc/opg/broker.pem',
  keyfile: '/etc/opg/broker.key',
  aclFile: '/etc/mosquitto/opg.acl',
}

t.test('mosquitto.conf: two mutual-TLS listeners, identities bound to certificates', async (t) => {
  const conf = mosquittoConf({ ...files, crlfile: '/etc/opg/boxes.crl', bridgeBind: '10.0.0.5' })
  const lines = conf.split('\n')
  t.ok(lines.includes('allow_anonymous false'))
  t.ok(
    lines.includes('max_queued_messages 200000'),
    'a storm of batches is queued for the bridge, not dropped',
  )
  t.ok(lines.includes('acl_file /etc/mosquitto/opg.acl'))
  const boxes = conf.slice(conf.indexOf('listener 8883'), conf.indexOf('listener 8884'))
  const bridge = conf.slice(conf.indexOf('listener 8884'))
  for (const l of [
    'require_certificate true',
    'use_identity_as_username true',
    'cafile /etc/opg/boxes-ca.pem',
  ])
    t.match(boxes, l, `boxes listener: ${l}`)
  t.match(boxes, 'use_username_as_clientid true', 'a box cannot pick another client id')
  t.match(boxes, 'crlfile /etc/opg/boxes.crl')
  t.match(bridge, /^listener 8884 10\.0\.0\.5$/m, 'the bridge listener on a private address')
  t.match(bridge, 'cafile /etc/opg/bridge-ca.pem')
  t.notMatch(bridge, 'use_username_as_clientid', 'bridge replicas choose their client ids')
  t.throws(
    () => mosquittoConf({ ...files, bridgeCafile: files.cafile }),
    { code: 'invalid_request' },
    'one CA for both',
  )
  t.throws(() => mosquittoConf({ ...files, aclFile: '/tmp/a b' }), { code: 'invalid_request' }, 'a space')
  t.throws(
    () => mosquittoConf({ ...files, certfile: '/x\nlistener 1883' }),
    { code: 'invalid_request' },
    'a newline',
  )
})

t.test('the ACL grants each box its own topics in its own direction, the bridge the rest', async (t) => {
  const tenantId = newId8(c)
  const deviceId = newId8(c)
  const acl = mosquittoAcl([{ tenantId, deviceId }])
  const base = `opg/v1/${tenantId}/${deviceId}`
  t.equal(
    acl.split('\n\n')[1],
    [
      `user ${brokerUsername(tenantId, deviceId)}`,
      `topic write ${base}/up/tx`,
      `topic write ${base}/up/status`,
      `topic read ${base}/down/#`,
      '',
    ].join('\n'),
  )
  t.match(acl, 'user opg-bridge\ntopic read opg/v1/+/+/up/#\ntopic write opg/v1/+/+/down/#')
  t.notMatch(acl, /^topic .* #$/m, 'no grant on everything')
  t.throws(() => mosquittoAcl([], 'opg bridge'), { code: 'invalid_request' })
})

forEachDatabase(t, async (t, db) => {
  const active = await seedTenant(db)
  const suspended = await seedTenant(db)
  await db.query("UPDATE tenants SET status = 'suspended' WHERE id = $1", [suspended])
  const add = async (tenantId: string, revoked = false) => {
    const merchantId = newId8(c)
    const id = newId8(c)
    await db.query("INSERT INTO merchants (tenant_id, id, name) VALUES ($1, $2, 'm')", [tenantId, merchantId])
    await db.query(
      'INSERT INTO devices (tenant_id, id, merchant_id, sealed_secret, revoked_at) VALUES ($1, $2, $3, $4, $5)',
      [tenantId, id, merchantId, randomBytes(44), revoked ? new Date() : null],
    )
    return id
  }
  const kept = await add(active)
  await add(active, true)
  await add(suspended)
  t.same(await brokerFleet(db), [{ tenantId: active, deviceId: kept }], 'only active boxes of active tenants')
})

t.test('opg-bridge broker-config: usage errors, a refused CA pairing, files written', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'opg-broker-config-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const run = async (args: string[]) => {
    const out = new PassThrough()
    let text = ''
    out.on('data', (d) => {
      text += d
    })
    const env = { DATABASE_URL: 'memory:', OPG_LOG_LEVEL: 'silent' }
    const code = await runCli(['broker-config', ...args], { env, stdout: out, stderr: out })
    return { code, text }
  }
  const base = ['--out', dir, '--cafile', 'boxes.pem', '--bridge-cafile', 'bridge.pem']
  const tls = ['--certfile', 'broker.pem', '--keyfile', 'broker.key']
  t.match(
    await run(base),
    { code: 2, text: /required option '--certfile/ },
    'a missing file is a usage error',
  )
  t.match(await run([...base, ...tls, '--port', 'x']), { code: 2, text: /--port must be a port/ })
  t.match(await run([...base, ...tls, '--out']), { code: 2, text: /option '--out <dir>' argument missing/ })
  t.match(
    await run(['--out', dir, '--cafile', 'ca.pem', '--bridge-cafile', 'ca.pem', ...tls]),
    { code: 1, text: /invalid_request.*its own CA/ },
    'one CA for boxes and bridge is refused',
  )
  const ok = await run([...base, ...tls, '--bridge-user', 'opg-bridge-eu'])
  t.match(ok, { code: 0, text: /0 boxes/ })
  const conf = await readFile(join(dir, 'mosquitto.conf'), 'utf8')
  t.match(conf, `cafile ${join(process.cwd(), 'boxes.pem')}`, 'paths are made absolute')
  t.match(conf, `acl_file ${join(dir, 'opg.acl')}`)
  t.match(await readFile(join(dir, 'opg.acl'), 'utf8'), 'user opg-bridge-eu')
  t.equal((await stat(join(dir, 'opg.acl'))).mode & 0o777, 0o640)
})
