/**
 * The box's identity, checked at start: the node certificate must be signed by a trusted issuer, name the
 * configured tenant, merchant and device, and carry the public halves of the provisioned secret keys.
 * A box whose files do not fit together refuses to start rather than take payments it cannot prove.
 */
import {
  type CryptoBackend,
  decodeNodeCertificate,
  equalBytes,
  fromHex,
  type IssuerKeyring,
  type KeyPair,
  type NodeCertificate,
  verifyNodeCertificate,
} from '@opg/protocol'
import { ConfigError } from '../config/load.js'
import type { NodeConfig } from '../config/schema.js'
import type { NodeSecrets } from '../config/secrets.js'

/** Everything the node needs to sign, decrypt and verify. */
export interface NodeIdentity {
  cert: NodeCertificate
  issuerKeys: IssuerKeyring
  signing: KeyPair
  encryption: KeyPair
  deviceSecret: Uint8Array
}

/** The issuer keyring from config (key id → Ed25519 public key, both hex). */
export function issuerKeyring(config: Pick<NodeConfig, 'issuerKeys'>): IssuerKeyring {
  return new Map(Object.entries(config.issuerKeys).map(([kid, pub]) => [kid, fromHex(pub)]))
}

/** Check that config, secrets and certificate belong together. Throws ConfigError('keys_invalid'). */
export function checkIdentity(c: CryptoBackend, config: NodeConfig, secrets: NodeSecrets): NodeIdentity {
  const problems: string[] = []
  let cert: NodeCertificate
  try {
    cert = decodeNodeCertificate(secrets.nodeCertificate)
  } catch (err) {
    throw new ConfigError('keys_invalid', ['keys.nodeCertificateFile: not a node certificate'], {
      cause: err,
    })
  }
  const issuerKeys = issuerKeyring(config)
  try {
    // Validity in time is not checked here: a box without trusted time must still start to receive it.
    verifyNodeCertificate(c, cert, issuerKeys)
  } catch (err) {
    problems.push(`node certificate: ${err instanceof Error ? err.message : String(err)}`)
  }
  if (cert.tenantId !== config.tenantId) problems.push('node certificate names another tenant')
  if (cert.merchantId !== config.merchantId) problems.push('node certificate names another merchant')
  if (cert.deviceId !== config.deviceId) problems.push('node certificate names another device')
  const signing = {
    secretKey: secrets.signingKey.bytes(),
    publicKey: c.ed25519PublicKey(secrets.signingKey.bytes()),
  }
  const encryption = {
    secretKey: secrets.encryptionKey.bytes(),
    publicKey: c.x25519PublicKey(secrets.encryptionKey.bytes()),
  }
  if (!equalBytes(signing.publicKey, cert.signingKey))
    problems.push('signing key does not match the certificate')
  if (!equalBytes(encryption.publicKey, cert.encryptionKey)) {
    problems.push('encryption key does not match the certificate')
  }
  if (problems.length > 0) throw new ConfigError('keys_invalid', problems)
  return { cert, issuerKeys, signing, encryption, deviceSecret: secrets.deviceSecret.bytes() }
}
