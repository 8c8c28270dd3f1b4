/**
 * Provisioned secrets: the device secret, the node's signing and encryption keys and its certificate, each in
 * its own file named by the config. A box without them refuses to start — there is no default key. Loaded
 * key material is wrapped so that logging or JSON-serialising it prints "[redacted]".
 */
import { readFile, stat } from 'node:fs/promises'
import { inspect } from 'node:util'
import { ConfigError } from './load.js'
import type { NodeConfig } from './schema.js'

/** Key material that never prints itself. Call `bytes()` where the key is really needed. */
export class Secret {
  readonly #bytes: Uint8Array
  constructor(bytes: Uint8Array) {
    this.#bytes = bytes
  }
  /** The raw key bytes. */
  bytes(): Uint8Array {
    return this.#bytes
  }
  get length(): number {
    return this.#bytes.length
  }
  toJSON(): string {
    return '[redacted]'
  }
  toString(): string {
    return '[redacted]'
  }
  [inspect.custom](): string {
    return `Secret([redacted] ${this.#bytes.length} bytes)`
  }
}

/** Everything provisioning gives a node. */
export interface NodeSecrets {
  /** 128-bit secret shared with the bridge; purpose keys (vault, mqtt, sms) are derived from it. */
  deviceSecret: Secret
  /** Ed25519 private key (32-byte seed) that signs receipts and status. */
  signingKey: Secret
  /** X25519 private key that payment envelopes are sealed to. */
  encryptionKey: Secret
  /** The issuer-signed node certificate, as encoded bytes (public). */
  nodeCertificate: Uint8Array
  /** Non-fatal findings, e.g. a key file readable by other users. */
  warnings: string[]
}

/** Load every key file, reporting all missing or malformed ones at once. Throws ConfigError. */
export async function loadSecrets(config: Pick<NodeConfig, 'keys'>): Promise<NodeSecrets> {
  const missing: string[] = []
  const invalid: string[] = []
  const warnings: string[] = []
  const read = async (field: string, path: string, length?: number): Promise<Uint8Array | undefined> => {
    let raw: Buffer
    try {
      const st = await stat(path)
      if ((st.mode & 0o077) !== 0 && length !== undefined) {
        warnings.push(`keys.${field}: ${path} is readable by other users (chmod 600)`)
      }
      raw = await readFile(path)
    } catch {
      missing.push(`keys.${field}: ${path} does not exist or cannot be read`)
      return undefined
    }
    const bytes = decodeKeyFile(raw, length)
    if (!bytes)
      invalid.push(`keys.${field}: ${path} does not hold ${length ?? 'some'} bytes (raw, hex or base64)`)
    return bytes
  }
  const k = config.keys
  const [deviceSecret, signingKey, encryptionKey, nodeCertificate] = await Promise.all([
    read('deviceSecretFile', k.deviceSecretFile, 16),
    read('signingKeyFile', k.signingKeyFile, 32),
    read('encryptionKeyFile', k.encryptionKeyFile, 32),
    read('nodeCertificateFile', k.nodeCertificateFile),
  ])
  if (missing.length > 0) {
    throw new ConfigError('keys_missing', [
      ...missing,
      ...invalid,
      'this box is not provisioned: run the provisioning tool; opg-node has no default keys',
    ])
  }
  if (invalid.length > 0 || !deviceSecret || !signingKey || !encryptionKey || !nodeCertificate) {
    throw new ConfigError('keys_invalid', invalid)
  }
  return {
    deviceSecret: new Secret(deviceSecret),
    signingKey: new Secret(signingKey),
    encryptionKey: new Secret(encryptionKey),
    nodeCertificate,
    warnings,
  }
}

/**
 * Key files may be raw bytes of the exact length, or text holding hex or base64 (what an operator can
 * paste). Returns undefined when none of these yields `length` bytes (any non-empty length when undefined).
 */
export function decodeKeyFile(raw: Uint8Array, length?: number): Uint8Array | undefined {
  const fits = (b: Uint8Array) => (length === undefined ? b.length > 0 : b.length === length)
  const text = Buffer.from(raw).toString('latin1').trim()
  if (/^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0) {
    const hex = new Uint8Array(Buffer.from(text, 'hex'))
    if (fits(hex)) return hex
  }
  if (/^[A-Za-z0-9+/_-]+=*$/.test(text)) {
    const b64 = new Uint8Array(Buffer.from(text, 'base64'))
    if (fits(b64) && b64.length > 0) return b64
  }
  if (length !== undefined && raw.length === length) return new Uint8Array(raw)
  if (length === undefined && raw.length > 0) return new Uint8Array(raw)
  return undefined
}

/** A copy of the config safe to log: key file paths stay (they are not secret), TLS key paths are marked. */
export function redactConfig(config: NodeConfig): Record<string, unknown> {
  const copy = structuredClone(config) as Record<string, unknown>
  const mqtt = copy.mqtt as Record<string, unknown>
  const url = new URL(config.mqtt.url)
  if (url.password) url.password = 'redacted'
  mqtt.url = url.toString()
  return copy
}
