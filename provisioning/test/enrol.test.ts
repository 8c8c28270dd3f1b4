// Enrolment against a real bridge: the bundle is written in device-config's layout (0600, manifest with
// SHA-256s), the box's secrets never reach the bridge, opg-node loads the bundle and comes online, and
// `verify` sees it there; a certificate that does not verify leaves nothing on disk.
import { existsSync, statSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { checkIdentity, loadConfigFile, loadSecrets, runCli } from '@opg/node-runtime'
import { nodeBackend as c } from '@opg/protocol/node'
import t from 'tap'
import { BridgeClient, type Json } from '../src/bridge-client.js'
import { BUNDLE_FILES, readBundle } from '../src/bundle.js'
import { runProvisionCli } from '../src/cli.js'
import { enrolBox } from '../src/enrol.js'
import { collectIo, startBridge } from './support.js'

t.test('enrol writes a bundle opg-node starts from, and verify sees the box online', async (t) => {
  const b = await startBridge(t)
  const out = join(b.dir, 'bundle')
  const run = collectIo()
  const code = await runProvisionCli(
    [
      'enrol',
      '--bridge',
      b.httpUrl,
      '--operator-key',
      b.operatorKey,
      '--merchant-name',
      'Corner Shop',
      '--label',
      'till 1',
      '--out',
      out,
      '--mqtt-url',
      b.mqttUrl,
      '--box-dir',
      out,
      '--modem-number',
      '+15550000099',
    ],
    run.io,
  )
  t.equal(code, 0, run.err.join('\n'))
  const deviceId = /enrolled box ([0-9a-f]{16})/.exec(run.out.join('\n'))?.[1]
  t.ok(deviceId, 'prints the device id')
  t.match(run.out.join('\n'), /modem number \+15550000099 registered with the bridge/)
  t.notMatch(run.out.join('\n'), /no route/, 'no stale claim that the bridge cannot take it')
  t.match(run.err.join('\n'), /^enrol: writing the bundle to /m, 'progress as plain lines off a terminal')

  const { manifest, files } = await readBundle(out)
  t.same(
    manifest.files.map((f) => f.name).sort(),
    [
      BUNDLE_FILES.config,
      BUNDLE_FILES.deviceSecret,
      BUNDLE_FILES.encryptionKey,
      BUNDLE_FILES.nodeCertificate,
      BUNDLE_FILES.signingKey,
    ].sort(),
    'the manifest lists the config and the four key files',
  )
  t.equal(manifest.deviceId, deviceId)
  t.equal(manifest.merchantName, 'Corner Shop')
  t.equal(manifest.modemNumber, '+15550000099')
  const dev = await b.bridge.db.query<{ modem_number: string }>(
    'SELECT modem_number FROM devices WHERE id = $1',
    [deviceId],
  )
  t.equal(
    dev.rows[0]?.modem_number,
    '+15550000099',
    'the bridge knows where to send OPG1 PAID while the box is offline',
  )
  for (const name of [...files.keys(), BUNDLE_FILES.manifest]) {
    t.equal(statSync(join(out, name)).mode & 0o777, 0o600, `${name} is 0600`)
  }

  // The secret halves stay on the technician's machine: nothing the bridge stored contains them.
  const signingHex = (await readFile(join(out, BUNDLE_FILES.signingKey), 'utf8')).trim()
  const encryptionHex = (await readFile(join(out, BUNDLE_FILES.encryptionKey), 'utf8')).trim()
  const stored = JSON.stringify(
    (await b.bridge.db.query('SELECT * FROM devices WHERE id = $1', [deviceId])).rows,
    (_k, v) =>
      v instanceof Uint8Array ? Buffer.from(v).toString('hex') : typeof v === 'bigint' ? `${v}` : v,
  )
  t.notOk(stored.includes(signingHex) || stored.includes(encryptionHex), 'no secret key in the device row')

  // The box's own loader accepts the bundle.
  const { config } = await loadConfigFile(join(out, BUNDLE_FILES.config), {})
  const secrets = await loadSecrets(config)
  t.same(secrets.warnings, [], 'no key-file warnings')
  const identity = checkIdentity(c, config, secrets)
  t.equal(identity.cert.deviceId, deviceId)
  t.equal(config.tenantId, b.tenantId)

  await runProvisionCli(
    ['enrol', '--bridge', b.httpUrl, '--operator-key', b.operatorKey, '--merchant-id', manifest.merchantId],
    run.io,
  )
  t.match(
    run.err.at(-1),
    /^opg-provision: error usage: required option '--label <label>' not specified/,
    'usage errors name the missing option, on one line',
  )
  const secondDir = join(b.dir, 'second')

  // opg-node starts on the bundle and its status reaches the bridge.
  let stopNode: () => void = () => {}
  const stopSignal = new Promise<void>((resolve) => {
    stopNode = resolve
  })
  const nodeLines: string[] = []
  const node = runCli(['start', '--config', join(out, BUNDLE_FILES.config), '--sim'], {
    stdout: (l) => nodeLines.push(l),
    stderr: (l) => nodeLines.push(l),
    env: { OPG_DATA_DIR: join(b.dir, 'data'), OPG_LOG__LEVEL: 'warn' },
    stopSignal,
  })
  t.teardown(async () => {
    stopNode()
    await node
  })
  const verify = collectIo()
  const vcode = await runProvisionCli(
    [
      'verify',
      '--bridge',
      b.httpUrl,
      '--operator-key',
      b.operatorKey,
      '--device',
      deviceId!,
      '--timeout',
      '60',
    ],
    verify.io,
  )
  if (vcode !== 0) t.comment([...verify.out, ...verify.err, ...nodeLines].join('\n'))
  t.equal(vcode, 0, 'verify sees the box online')
  t.match(
    verify.out.join('\n'),
    /box [0-9a-f]{16} \(till 1\).*online yes/,
    'and prints what the bridge reports',
  )
  stopNode()
  t.equal(await node, 0, 'opg-node stops cleanly')

  // A second box for the same merchant, never started: verify gives up.
  const second = collectIo()
  t.equal(
    await runProvisionCli(
      [
        'enrol',
        ...['--bridge', b.httpUrl, '--operator-key', b.operatorKey, '--merchant-id', manifest.merchantId],
        ...['--label', 'till 2', '--out', secondDir, '--mqtt-url', b.mqttUrl],
      ],
      second.io,
    ),
    0,
    second.err.join('\n'),
  )
  const secondCfg = JSON.parse(await readFile(join(secondDir, BUNDLE_FILES.config), 'utf8'))
  t.equal(secondCfg.merchantId, manifest.merchantId, 'enrolled under the existing merchant')
  t.equal(
    secondCfg.keys.deviceSecretFile,
    '/boot/opg/device-secret',
    'key paths name the boot partition by default',
  )
  t.notMatch(second.out.join('\n'), /merchant API key/, 'no merchant key for an existing merchant')
  t.equal(secondCfg.dataDir, '/var/lib/opg', "the config names the box's one data directory")
  const idle = collectIo()
  t.equal(
    await runProvisionCli(
      [
        'verify',
        '--bridge',
        b.httpUrl,
        '--operator-key',
        b.operatorKey,
        '--device',
        secondCfg.deviceId,
        '--timeout',
        '1',
      ],
      idle.io,
    ),
    1,
  )
  t.match(
    idle.err.join('\n'),
    /^opg-provision: error not_online: box [0-9a-f]{16} is not online \(last seen never\)$/m,
  )
  t.equal(
    [...idle.out, ...idle.err].filter((l) => l.includes('is not online')).length,
    1,
    'the failure is printed once',
  )

  await writeFile(join(secondDir, BUNDLE_FILES.signingKey), `${'00'.repeat(32)}\n`)
  await t.rejects(
    readBundle(secondDir),
    { code: 'bundle_invalid' },
    'a changed key file no longer matches the manifest',
  )
  const again = collectIo()
  t.equal(
    await runProvisionCli(
      [
        'enrol',
        ...['--bridge', b.httpUrl, '--operator-key', b.operatorKey, '--merchant-id', manifest.merchantId],
        ...['--label', 'till 3', '--out', secondDir, '--mqtt-url', b.mqttUrl],
      ],
      again.io,
    ),
    1,
  )
  t.match(again.err.join('\n'), /bundle_exists/, 'will not overwrite a bundle')
})

/** Forwards to the real bridge but swaps the issuer keyring it returns for a stranger's. */
class ForgingBridge extends BridgeClient {
  override as(key: string): BridgeClient {
    return new ForgingBridge(this.baseUrl, key)
  }
  override async call(method: string, path: string, body?: unknown): Promise<Json> {
    const res = await super.call(method, path, body)
    if (path.endsWith('/certificate')) {
      const stranger = Buffer.from(c.ed25519PublicKey(c.randomBytes(32))).toString('base64url')
      res.issuerKeys = res.issuerKeys.map((k: Json) => ({ ...k, publicKey: stranger }))
    }
    return res
  }
}

t.test('a certificate that does not verify against the keyring writes nothing', async (t) => {
  const b = await startBridge(t)
  const out = join(b.dir, 'forged')
  await t.rejects(
    enrolBox({
      c,
      bridge: new ForgingBridge(b.httpUrl, b.operatorKey),
      merchant: { name: 'Corner Shop' },
      label: 'till 1',
      out,
      mqttUrl: b.mqttUrl,
    }),
    { code: 'certificate_invalid' },
  )
  t.notOk(existsSync(out), 'no bundle folder')
  await t.rejects(
    enrolBox({
      c,
      bridge: new BridgeClient(b.httpUrl, 'not-a-key'),
      merchant: { name: 'X' },
      label: 'x',
      out,
      mqttUrl: b.mqttUrl,
    }),
    { code: 'bridge_refused', message: /401/ },
    'a wrong operator key is refused by the bridge',
  )
})
