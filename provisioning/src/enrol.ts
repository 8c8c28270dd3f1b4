/**
 * Enrolment: make a blank box's identity. The Ed25519 and X25519 key pairs are generated here, on the
 * technician's machine; only their public halves go to the bridge, which registers the device (returning its
 * device secret and device key once) and has the tenant's issuer sign the node certificate. The certificate is
 * checked against the returned keyring and the generated keys before a single file is written.
 */
import { join, resolve } from 'node:path'
import type { NodeConfigInput } from '@opg/node-runtime'
import {
  type CryptoBackend,
  decodeNodeCertificate,
  encodeSticker,
  equalBytes,
  generateEncryptionKeyPair,
  generateSigningKeyPair,
  type NodeCertificate,
  toHex,
  utf8,
  verifyNodeCertificate,
} from '@opg/protocol'
import type { BridgeClient } from './bridge-client.js'
import { BUNDLE_FILES, type Manifest, writeBundle } from './bundle.js'
import { ProvisionError } from './errors.js'

/** What to enrol. */
export interface EnrolOptions {
  c: CryptoBackend
  /** The bridge, with an operator key. */
  bridge: BridgeClient
  /** An existing merchant, or the name of one to create. */
  merchant: { id: string } | { name: string }
  /** The box's label in the fleet view. */
  label: string
  /** Where the bundle is written (created; must not already hold one). */
  out: string
  /** The broker URL written into the box's config. */
  mqttUrl: string
  /** Where the bundle's files will be on the box (the config names key files by this path); default `out`. */
  boxDir?: string
  /** The box's SIM number (E.164), recorded in the manifest. */
  modemNumber?: string
  /**
   * The box's one data directory (vault, state, control socket), written into its config so every opg-node
   * command on the box finds the same vault; default /var/lib/opg.
   */
  dataDir?: string
  /** More config settings (hardware, sync, …) merged over the written ones. */
  config?: Partial<NodeConfigInput>
  /** Told each step as it happens (the CLI shows progress). */
  onStep?: (note: string) => void
  /** Unix seconds, for the certificate's validity check; default the clock. */
  now?: () => number
}

/** An enrolled box. The merchant key (when the merchant was created) and device key are shown once, here. */
export interface EnrolResult {
  manifest: Manifest
  dir: string
  configPath: string
  tenantId: string
  merchantId: string
  deviceId: string
  merchantName: string
  merchantKey: string | null
  deviceKey: string
  nodeCert: NodeCertificate
  /** The `OPGM:` sticker text. */
  sticker: string
}

const E164 = /^\+[1-9][0-9]{6,14}$/
const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url')
const line = (s: string) => new Uint8Array(Buffer.from(`${s}\n`))

/** The merchant name as it fits on a sticker: at most 48 UTF-8 bytes, cut on a character boundary. */
export function stickerName(name: string): string {
  let out = ''
  for (const ch of name) {
    if (utf8(out + ch).length > 48) break
    out += ch
  }
  return out
}

/** Register, certify and write one box's bundle. */
export async function enrolBox(o: EnrolOptions): Promise<EnrolResult> {
  if (o.modemNumber !== undefined && !E164.test(o.modemNumber)) {
    throw new ProvisionError('bundle_invalid', `modem number ${o.modemNumber} is not E.164 (+ and digits)`)
  }
  const tenant = await o.bridge.get('/v1/tenant')
  const tenantId: string = tenant.id
  const currency: string = tenant.currency
  let merchantId: string
  let merchantName: string
  let merchantKey: string | null = null
  if ('id' in o.merchant) {
    const m = await o.bridge.get(`/v1/merchants/${o.merchant.id}`)
    merchantId = m.id
    merchantName = m.name
  } else {
    const m = await o.bridge.post('/v1/merchants', { name: o.merchant.name })
    merchantId = m.merchant.id
    merchantName = m.merchant.name
    merchantKey = m.apiKey.key
  }
  o.onStep?.(`registering box '${o.label}' for ${merchantName}`)
  const d = await o.bridge.post(`/v1/merchants/${merchantId}/devices`, { label: o.label })
  const deviceId: string = d.device.id
  const signing = generateSigningKeyPair(o.c)
  const encryption = generateEncryptionKeyPair(o.c)
  o.onStep?.('generating the box keys and asking the bridge for its certificate')
  // The box certifies itself with its own device key, as it would re-certify later.
  const certified = await o.bridge.as(d.apiKey.key).post(`/v1/devices/${deviceId}/certificate`, {
    signingKey: b64u(signing.publicKey),
    encryptionKey: b64u(encryption.publicKey),
  })
  // Where the bridge sends OPG1 PAID confirmations while the box is offline.
  if (o.modemNumber !== undefined) {
    await o.bridge.as(d.apiKey.key).call('PATCH', `/v1/devices/${deviceId}`, { modemNumber: o.modemNumber })
  }
  const certBytes = new Uint8Array(Buffer.from(certified.certificate, 'base64url'))
  const issuerKeys: Record<string, string> = {}
  for (const k of certified.issuerKeys as { keyId: string; publicKey: string }[]) {
    issuerKeys[k.keyId] = Buffer.from(k.publicKey, 'base64url').toString('hex')
  }
  const nodeCert = checkCertificate(o.c, certBytes, issuerKeys, {
    tenantId,
    merchantId,
    deviceId,
    signingKey: signing.publicKey,
    encryptionKey: encryption.publicKey,
    nowS: (o.now ?? (() => Math.floor(Date.now() / 1000)))(),
  })

  const boxDir = o.boxDir ?? resolve(o.out)
  const config: NodeConfigInput = {
    version: 2,
    tenantId,
    merchantId,
    deviceId,
    keys: {
      deviceSecretFile: join(boxDir, BUNDLE_FILES.deviceSecret),
      signingKeyFile: join(boxDir, BUNDLE_FILES.signingKey),
      encryptionKeyFile: join(boxDir, BUNDLE_FILES.encryptionKey),
      nodeCertificateFile: join(boxDir, BUNDLE_FILES.nodeCertificate),
    },
    issuerKeys,
    currency,
    dataDir: o.dataDir ?? '/var/lib/opg',
    ...o.config,
    mqtt: { ...o.config?.mqtt, url: o.mqttUrl },
  }
  o.onStep?.(`writing the bundle to ${o.out}`)
  const manifest = await writeBundle(
    o.out,
    {
      tenantId,
      merchantId,
      deviceId,
      merchantName,
      label: o.label,
      modemNumber: o.modemNumber ?? null,
      createdAt: new Date().toISOString(),
    },
    {
      [BUNDLE_FILES.config]: line(JSON.stringify(config, null, 2)),
      [BUNDLE_FILES.deviceSecret]: line(d.deviceSecret),
      [BUNDLE_FILES.signingKey]: line(toHex(signing.secretKey)),
      [BUNDLE_FILES.encryptionKey]: line(toHex(encryption.secretKey)),
      [BUNDLE_FILES.nodeCertificate]: line(toHex(certBytes)),
    },
  )
  return {
    manifest,
    dir: o.out,
    configPath: join(o.out, BUNDLE_FILES.config),
    tenantId,
    merchantId,
    deviceId,
    merchantName,
    merchantKey,
    deviceKey: d.apiKey.key,
    nodeCert,
    sticker: encodeSticker({ nodeCert, merchantName: stickerName(merchantName) }),
  }
}

/** The certificate must verify under the keyring and name this box and its keys; throws 'certificate_invalid'. */
function checkCertificate(
  c: CryptoBackend,
  bytes: Uint8Array,
  issuerKeys: Record<string, string>,
  want: {
    tenantId: string
    merchantId: string
    deviceId: string
    signingKey: Uint8Array
    encryptionKey: Uint8Array
    nowS: number
  },
): NodeCertificate {
  let cert: NodeCertificate
  try {
    cert = decodeNodeCertificate(bytes)
    const keyring = new Map(
      Object.entries(issuerKeys).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'hex'))]),
    )
    verifyNodeCertificate(c, cert, keyring, want.nowS)
  } catch (err) {
    throw new ProvisionError(
      'certificate_invalid',
      'the bridge returned a certificate that does not verify',
      {
        cause: err,
      },
    )
  }
  const problems: string[] = []
  if (cert.tenantId !== want.tenantId) problems.push('another tenant')
  if (cert.merchantId !== want.merchantId) problems.push('another merchant')
  if (cert.deviceId !== want.deviceId) problems.push('another device')
  if (!equalBytes(cert.signingKey, want.signingKey)) problems.push('another signing key')
  if (!equalBytes(cert.encryptionKey, want.encryptionKey)) problems.push('another encryption key')
  if (problems.length > 0) {
    throw new ProvisionError('certificate_invalid', `the certificate names ${problems.join(', ')}`)
  }
  return cert
}
