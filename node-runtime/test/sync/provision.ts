/**
 * Provisions a test box on disk the way the provisioning tool would: key files, node certificate and a
 * config file in a temp directory, for tests that run the real `opg-node` wiring or command.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { keyId, toHex } from '@opg/protocol'
import { c, MERCHANT, TENANT, type TestWorld } from '../accept/fixtures.js'

export interface ProvisionedBox {
  dir: string
  configPath: string
  dataDir: string
  raw: Record<string, unknown>
}

/** Write keys (in the three accepted encodings), certificate and config under `dir`. */
export async function provisionBox(
  dir: string,
  world: TestWorld,
  o: { mqttUrl?: string; extra?: Record<string, unknown> } = {},
): Promise<ProvisionedBox> {
  const keys = join(dir, 'keys')
  const dataDir = join(dir, 'data')
  await mkdir(keys, { recursive: true, mode: 0o700 })
  await writeFile(join(keys, 'device-secret'), toHex(world.deviceSecret), { mode: 0o600 })
  await writeFile(join(keys, 'node-signing.key'), world.nodeSigning.secretKey, { mode: 0o600 })
  await writeFile(
    join(keys, 'node-encryption.key'),
    Buffer.from(world.nodeEncryption.secretKey).toString('base64'),
    { mode: 0o600 },
  )
  await writeFile(join(keys, 'node.cert'), world.nodeCertBytes)
  const raw: Record<string, unknown> = {
    version: 2,
    tenantId: TENANT,
    merchantId: MERCHANT,
    deviceId: world.deviceId,
    keys: {
      deviceSecretFile: join(keys, 'device-secret'),
      signingKeyFile: join(keys, 'node-signing.key'),
      encryptionKeyFile: join(keys, 'node-encryption.key'),
      nodeCertificateFile: join(keys, 'node.cert'),
    },
    issuerKeys: { [keyId(c, world.issuer.publicKey)]: toHex(world.issuer.publicKey) },
    mqtt: { url: o.mqttUrl ?? 'mqtt://127.0.0.1:1' },
    dataDir,
    hardware: { mode: 'sim' },
    sync: { reconnectMinMs: 100, reconnectMaxMs: 1_000, ackTimeoutMs: 3_000 },
    log: { level: 'warn' },
    ...o.extra,
  }
  const configPath = join(dir, 'opg-node.json')
  await writeFile(configPath, JSON.stringify(raw, null, 2))
  return { dir, configPath, dataDir, raw }
}
