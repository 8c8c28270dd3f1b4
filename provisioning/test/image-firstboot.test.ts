// The SD-card image's first-boot step (images/files/opg-firstboot.mjs) on a bundle written by this package's
// writeBundle, as the technician copies it to opg/ on the boot partition: a complete bundle is installed with
// keys 0600 in a 0700 folder owned by the box's user, the config's key paths point there, and the bundle is
// gone from the boot partition; a damaged bundle installs nothing and stays where it is.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { tmpdir, userInfo } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { BUNDLE_FILES, writeBundle } from '../src/bundle.js'

const FIRSTBOOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../images/files/opg-firstboot.mjs')
const scratch = mkdtempSync(join(tmpdir(), 'opg-firstboot-'))
t.teardown(() => rmSync(scratch, { recursive: true, force: true }))
const user = userInfo().username

async function bundleAt(dir: string) {
  const config = {
    version: 2,
    tenantId: '0011223344556677',
    merchantId: '1122334455667788',
    deviceId: '2233445566778899',
    keys: {
      deviceSecretFile: '/boot/opg/device-secret',
      signingKeyFile: '/boot/opg/node-signing.key',
      encryptionKeyFile: '/boot/opg/node-encryption.key',
      nodeCertificateFile: '/boot/opg/node.cert',
    },
    dataDir: '/somewhere/else',
  }
  await writeBundle(
    dir,
    {
      tenantId: config.tenantId,
      merchantId: config.merchantId,
      deviceId: config.deviceId,
      merchantName: 'Corner Shop',
      label: 'till 1',
      modemNumber: null,
      createdAt: new Date().toISOString(),
    },
    {
      [BUNDLE_FILES.config]: Buffer.from(JSON.stringify(config)),
      [BUNDLE_FILES.deviceSecret]: Buffer.from('00112233445566778899aabbccddeeff\n'),
      [BUNDLE_FILES.signingKey]: Buffer.from(`${'11'.repeat(32)}\n`),
      [BUNDLE_FILES.encryptionKey]: Buffer.from(`${'22'.repeat(32)}\n`),
      [BUNDLE_FILES.nodeCertificate]: Buffer.from(`${'33'.repeat(165)}\n`),
    },
  )
}

function firstboot(src: string, etc: string) {
  return spawnSync(process.execPath, [FIRSTBOOT, src], {
    env: { PATH: process.env.PATH, OPG_FIRSTBOOT_ETC: etc, OPG_FIRSTBOOT_USER: user },
    encoding: 'utf8',
  })
}

t.test('a complete bundle is installed 0600 and removed from the boot partition', async (t) => {
  const fat = join(scratch, 'ok-fat')
  const etc = join(scratch, 'ok-etc')
  await bundleAt(join(fat, 'opg'))
  const r = firstboot(join(fat, 'opg'), etc)
  t.equal(r.status, 0, r.stderr)
  t.notOk(existsSync(join(fat, 'opg')), 'the bundle is gone from the FAT partition')
  const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }))
  t.equal(statSync(join(etc, 'keys')).mode & 0o777, 0o700)
  for (const f of ['device-secret', 'node-signing.key', 'node-encryption.key', 'node.cert']) {
    const s = statSync(join(etc, 'keys', f))
    t.equal(s.mode & 0o777, 0o600, `${f} is 0600`)
    t.equal(s.uid, uid, `${f} belongs to the box's user`)
  }
  t.equal(statSync(join(etc, 'opg-node.json')).mode & 0o777, 0o600)
  const cfg = JSON.parse(await readFile(join(etc, 'opg-node.json'), 'utf8'))
  t.same(cfg.keys, {
    deviceSecretFile: join(etc, 'keys/device-secret'),
    signingKeyFile: join(etc, 'keys/node-signing.key'),
    encryptionKeyFile: join(etc, 'keys/node-encryption.key'),
    nodeCertificateFile: join(etc, 'keys/node.cert'),
  })
  t.equal(cfg.dataDir, '/var/lib/opg', 'the vault partition')
  t.equal(cfg.deviceId, '2233445566778899', 'the rest of the config is kept')
  t.equal(
    (await readFile(join(etc, 'keys/node.cert'), 'utf8')).trim(),
    '33'.repeat(165),
    'key bytes unchanged',
  )
})

t.test('a damaged bundle installs nothing and stays on the card', async (t) => {
  const fat = join(scratch, 'bad-fat')
  const etc = join(scratch, 'bad-etc')
  await bundleAt(join(fat, 'opg'))
  rmSync(join(fat, 'opg', 'node-signing.key'))
  const r = firstboot(join(fat, 'opg'), etc)
  t.equal(r.status, 1)
  t.match(r.stderr, /bundle not installed: node-signing\.key is missing/)
  t.notOk(existsSync(join(etc, 'opg-node.json')), 'no config installed')
  t.ok(existsSync(join(fat, 'opg', 'manifest.json')), 'the bundle is left for the technician')
})
