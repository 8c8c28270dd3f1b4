/**
 * Config migrations: each step lifts a raw config object one version up, so a box provisioned by an older
 * release keeps starting after an update. Steps are pure functions on plain objects; validation comes after.
 */

type Raw = Record<string, unknown>

/** Migration from version `from` to `from + 1`. */
export interface ConfigMigration {
  from: number
  describe: string
  up(raw: Raw): Raw
}

/**
 * Version 1 (the first pilot boxes) had a flat layout: `broker`, `caCert`, `clientCert`, `clientKey`,
 * `keysDir` holding fixed file names, and `caps` instead of `exposure`.
 */
export const MIGRATIONS: readonly ConfigMigration[] = [
  {
    from: 1,
    describe: 'flat broker/keysDir/caps layout → mqtt, keys and exposure sections',
    up(raw) {
      const { broker, caCert, clientCert, clientKey, keysDir, caps, ...rest } = raw
      const out: Raw = { ...rest, version: 2 }
      const mqtt: Raw = { ...(isObject(rest.mqtt) ? rest.mqtt : {}) }
      if (broker !== undefined) mqtt.url = broker
      if (caCert !== undefined) mqtt.caFile = caCert
      if (clientCert !== undefined) mqtt.certFile = clientCert
      if (clientKey !== undefined) mqtt.keyFile = clientKey
      if (Object.keys(mqtt).length > 0) out.mqtt = mqtt
      if (typeof keysDir === 'string' && out.keys === undefined) {
        const dir = keysDir.replace(/\/+$/, '')
        out.keys = {
          deviceSecretFile: `${dir}/device-secret`,
          signingKeyFile: `${dir}/node-signing.key`,
          encryptionKeyFile: `${dir}/node-encryption.key`,
          nodeCertificateFile: `${dir}/node.cert`,
        }
      }
      if (isObject(caps))
        out.exposure = { maxUnsyncedTotal: caps.total, maxPerWalletPerDay: caps.perWalletDay }
      return out
    },
  },
]

/** Apply every migration from the object's `version` up to `target`; returns the object and the steps taken. */
export function migrateConfig(raw: Raw, target: number): { raw: Raw; applied: string[] } {
  let current = raw
  const applied: string[] = []
  for (;;) {
    const version = current.version
    if (typeof version !== 'number' || version >= target) break
    const step = MIGRATIONS.find((m) => m.from === version)
    if (!step) break
    current = step.up(current)
    applied.push(`v${step.from}→v${step.from + 1}: ${step.describe}`)
  }
  return { raw: current, applied }
}

function isObject(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
