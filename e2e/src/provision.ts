/**
 * Provisioning of a merchant box against a running bridge, done by the field technician's tool
 * (@opg/provisioning's enrolBox: register the merchant and the box, make the box's keys, have the issuer certify
 * them, write the bundle — config and key files, 0600, with a manifest). The local box runs from that bundle in
 * place, so its config names the bundle's own folder and simulated hardware. The merchant's phone, bank account
 * reference and the box's modem number have no API route yet, so they are set in the bridge's database directly.
 */
import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Bridge } from '@opg/cloud-bridge'
import type { CryptoBackend } from '@opg/protocol'
import { BridgeClient, enrolBox } from '@opg/provisioning'
import type { Api } from './api.js'

/** What to provision. */
export interface ProvisionOptions {
  c: CryptoBackend
  /** The bridge, with an operator key. */
  operator: Api
  /** The bridge's database, for the fields the API does not take yet. */
  db: Pick<Bridge['db'], 'query'>
  tenantId: string
  /** Folder for the box: its bundle (config file, key files, manifest.json) and data/. */
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

/** Register, certify and configure one box; returns where everything was written. */
export async function provisionBox(o: ProvisionOptions): Promise<ProvisionedBox> {
  if (!o.operator.key) throw new Error('provisioning needs an operator key')
  const dir = resolve(o.dir)
  const dataDir = join(dir, 'data')
  const box = await enrolBox({
    c: o.c,
    bridge: new BridgeClient(o.operator.baseUrl, o.operator.key),
    merchant: { name: o.merchantName },
    label: `${o.merchantName} box 1`,
    out: dir,
    mqttUrl: o.mqttUrl,
    ...(o.modemNumber ? { modemNumber: o.modemNumber } : {}),
    config: {
      dataDir,
      currency: o.currency,
      hardware: { mode: 'sim', cameraEnabled: true, bleEnabled: false },
      // A local box syncs as soon as it can and reports its status often, so the bridge's view is fresh.
      sync: { ackTimeoutMs: 5_000, statusIntervalMs: 5_000, reconnectMinMs: 200, reconnectMaxMs: 2_000 },
    },
  })
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  await o.db.query(
    'UPDATE merchants SET phone = $3, bank_account_ref = $4 WHERE tenant_id = $1 AND id = $2',
    [o.tenantId, box.merchantId, o.merchantPhone ?? null, o.bankAccountRef ?? null],
  )
  if (o.modemNumber) {
    await o.db.query('UPDATE devices SET modem_number = $3 WHERE tenant_id = $1 AND id = $2', [
      o.tenantId,
      box.deviceId,
      o.modemNumber,
    ])
  }
  return {
    tenantId: box.tenantId,
    merchantId: box.merchantId,
    deviceId: box.deviceId,
    merchantName: box.merchantName,
    // The tool returns the merchant key whenever it created the merchant, as here.
    merchantKey: box.merchantKey ?? '',
    deviceKey: box.deviceKey,
    configPath: box.configPath,
    dataDir,
    sticker: box.sticker,
    modemNumber: o.modemNumber ?? null,
  }
}
