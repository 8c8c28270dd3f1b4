/**
 * Provisioning of a merchant box against a running bridge, as a field technician's tool does it: register
 * the merchant and the box, make the box's signing and encryption keys, have the issuer certify them, and
 * write the key files (0600) and the box's config file. The merchant's phone, bank account reference and
 * the box's modem number have no API route yet, so they are set in the bridge's database directly.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Bridge } from '@opg/cloud-bridge'
import type { NodeConfigInput } from '@opg/node-runtime'
import {
  type CryptoBackend,
  decodeNodeCertificate,
  encodeSticker,
  generateEncryptionKeyPair,
  generateSigningKeyPair,
  toHex,
} from '@opg/protocol'
import type { Api } from './api.js'

/** What to provision. */
export interface ProvisionOptions {
  c: CryptoBackend
  /** The bridge, with an operator key. */
  operator: Api
  /** The bridge's database, for the fields the API does not take yet. */
  db: Pick<Bridge['db'], 'query'>
  tenantId: string
  /** Folder for the box: config file, keys/, data/. */
  dir: string
  merchantName: string
  currency: string
  /** The MQTT URL written into the box's config. */
  mqttUrl: string
  merchantPhone?: string
  bankAccountRef?: string
  /** The box's SIM number (E.164): where the bridge sends `OPG1 PAID` SMS for this box. */
  modemNumber?: string
}

/** A provisioned box. Keys of the merchant and of the box are shown once, here. */
export interface ProvisionedBox {
  tenantId: string
  merchantId: string
  deviceId: string
  merchantName: string
  merchantKey: string
  deviceKey: string
  configPath: string
  dataDir: string
  /** The text of the sticker on the box (`OPGM:…`): what a wallet scans to pay it. */
  sticker: string
  modemNumber: string | null
}

const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url')

async function secretFile(path: string, text: string): Promise<void> {
  await writeFile(path, `${text}\n`, { mode: 0o600 })
  await chmod(path, 0o600)
}

/** Register, certify and configure one box; returns where everything was written. */
export async function provisionBox(o: ProvisionOptions): Promise<ProvisionedBox> {
  const m = await o.operator.post('/v1/merchants', { name: o.merchantName })
  const merchantId: string = m.merchant.id
  const d = await o.operator.post(`/v1/merchants/${merchantId}/devices`, { label: `${o.merchantName} box 1` })
  const deviceId: string = d.device.id
  const signing = generateSigningKeyPair(o.c)
  const encryption = generateEncryptionKeyPair(o.c)
  const cert = await o.operator.as(d.apiKey.key).post(`/v1/devices/${deviceId}/certificate`, {
    signingKey: b64u(signing.publicKey),
    encryptionKey: b64u(encryption.publicKey),
  })
  await o.db.query(
    'UPDATE merchants SET phone = $3, bank_account_ref = $4 WHERE tenant_id = $1 AND id = $2',
    [o.tenantId, merchantId, o.merchantPhone ?? null, o.bankAccountRef ?? null],
  )
  if (o.modemNumber) {
    await o.db.query('UPDATE devices SET modem_number = $3 WHERE tenant_id = $1 AND id = $2', [
      o.tenantId,
      deviceId,
      o.modemNumber,
    ])
  }

  const keys = join(o.dir, 'keys')
  const dataDir = join(o.dir, 'data')
  await mkdir(keys, { recursive: true, mode: 0o700 })
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const certBytes = new Uint8Array(Buffer.from(cert.certificate, 'base64url'))
  const files = {
    deviceSecretFile: join(keys, 'device-secret'),
    signingKeyFile: join(keys, 'node-signing.key'),
    encryptionKeyFile: join(keys, 'node-encryption.key'),
    nodeCertificateFile: join(keys, 'node.cert'),
  }
  await secretFile(files.deviceSecretFile, d.deviceSecret)
  await secretFile(files.signingKeyFile, toHex(signing.secretKey))
  await secretFile(files.encryptionKeyFile, toHex(encryption.secretKey))
  await writeFile(files.nodeCertificateFile, `${toHex(certBytes)}\n`)
  const issuerKeys: Record<string, string> = {}
  for (const k of cert.issuerKeys as { keyId: string; publicKey: string }[]) {
    issuerKeys[k.keyId] = Buffer.from(k.publicKey, 'base64url').toString('hex')
  }
  const config: NodeConfigInput = {
    version: 2,
    tenantId: o.tenantId,
    merchantId,
    deviceId,
    keys: files,
    issuerKeys,
    mqtt: { url: o.mqttUrl },
    dataDir,
    currency: o.currency,
    hardware: { mode: 'sim', cameraEnabled: true, bleEnabled: false },
    // A local box syncs as soon as it can and reports its status often, so the bridge's view is fresh.
    sync: { ackTimeoutMs: 5_000, statusIntervalMs: 5_000, reconnectMinMs: 200, reconnectMaxMs: 2_000 },
  }
  const configPath = join(o.dir, 'opg-node.json')
  await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 })
  const sticker = encodeSticker({ nodeCert: decodeNodeCertificate(certBytes), merchantName: o.merchantName })
  return {
    tenantId: o.tenantId,
    merchantId,
    deviceId,
    merchantName: o.merchantName,
    merchantKey: m.apiKey.key,
    deviceKey: d.apiKey.key,
    configPath,
    dataDir,
    sticker,
    modemNumber: o.modemNumber ?? null,
  }
}
