/**
 * The merchant box's configuration schema: one zod schema is the single source of truth for the config
 * file, the environment overlay, the TypeScript type and device-config/opg-node.example.json.
 * Secrets are never inline: the schema holds only paths to files that provisioning wrote.
 */
import { z } from 'zod'

/** The config layout this build writes and expects; older files are migrated (see migrations.ts). */
export const CONFIG_VERSION = 2

const id64 = z.string().regex(/^[0-9a-f]{16}$/, 'expected 16 lowercase hex characters (an 8-byte id)')
const filePath = z.string().min(1, 'expected a file path')
const pin = z.number().int().min(0).max(63)
const positiveInt = z.number().int().positive()
const minorUnits = z.number().int().nonnegative()

/** Issuer public keys by key id: the keyring that verifies wallet and node certificates. */
const issuerKeys = z
  .record(
    z.string().regex(/^[0-9a-f]{2,32}$/, 'expected a hex key id'),
    z.string().regex(/^[0-9a-f]{64}$/, 'expected a 32-byte Ed25519 public key in hex'),
  )
  .refine((keys) => Object.keys(keys).length > 0, 'at least one issuer public key is required')

export const ConfigSchema = z.object({
  version: z.literal(CONFIG_VERSION),
  tenantId: id64,
  merchantId: id64,
  deviceId: id64,
  /** Paths to the provisioned secrets and the node certificate. There are no defaults: no keys, no start. */
  keys: z.object({
    deviceSecretFile: filePath,
    signingKeyFile: filePath,
    encryptionKeyFile: filePath,
    nodeCertificateFile: filePath,
  }),
  issuerKeys,
  mqtt: z
    .object({
      url: z
        .string()
        .regex(/^(mqtts?|wss?):\/\/[^\s]+$/, 'expected an mqtt://, mqtts://, ws:// or wss:// url')
        .default('mqtt://127.0.0.1:1883'),
      caFile: filePath.optional(),
      certFile: filePath.optional(),
      keyFile: filePath.optional(),
      keepaliveS: positiveInt.default(30),
    })
    // Checks within a section run even when other sections fail, so every problem is reported at once.
    .superRefine((m, ctx) => {
      if (Boolean(m.certFile) !== Boolean(m.keyFile)) {
        ctx.addIssue({ code: 'custom', path: ['certFile'], message: 'certFile and keyFile go together' })
      }
      if (m.url.startsWith('mqtt://') && !isLoopbackUrl(m.url)) {
        ctx.addIssue({
          code: 'custom',
          path: ['url'],
          message:
            'plain mqtt:// is only allowed to a loopback broker; use mqtts:// with a client certificate',
        })
      }
    })
    .prefault({}),
  dataDir: filePath.default('/var/lib/opg'),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, 'expected an ISO 4217 code')
    .default('EUR'),
  /** The merchant's own risk policy for money not yet settled with the bridge (minor units). */
  exposure: z
    .object({
      maxUnsyncedTotal: minorUnits.default(50_000),
      maxPerWalletPerDay: minorUnits.default(10_000),
    })
    .prefault({}),
  hardware: z
    .object({
      mode: z.enum(['sim', 'real']).default('real'),
      /** BCM pin numbers. */
      pins: z
        .object({
          ledOnline: pin.default(5),
          ledOk: pin.default(17),
          ledError: pin.default(27),
          buzzer: pin.default(22),
          button: pin.optional(),
          /**
           * Power-fail input of a supercapacitor/UPS HAT: on its edge the node refuses new payments, flushes
           * the vault and state, and reports the event. Omit on a box without one.
           */
          powerFail: pin.optional(),
        })
        .prefault({}),
      /** Label of the gpio chip carrying the header, for a board that is not a Raspberry Pi (found otherwise). */
      gpioChip: z.string().min(1).optional(),
      /** The power-fail line reads low while power is failing (most HATs pull it down). */
      powerFailActiveLow: z.boolean().default(true),
      modemPath: z.string().default('/dev/ttyUSB2'),
      cameraEnabled: z.boolean().default(true),
      bleEnabled: z.boolean().default(true),
    })
    .prefault({}),
  sync: z
    .object({
      /** Records per published batch. */
      batchSize: z.number().int().min(1).max(1000).default(200),
      /** Batches published and not yet acked at once. */
      window: z.number().int().min(1).max(64).default(8),
      /** Re-publish a batch the bridge has not acked after this long. */
      ackTimeoutMs: positiveInt.default(15_000),
      /** Each further wait doubles (with jitter) up to this cap: no resend storm while the bridge is down. */
      resendMaxMs: positiveInt.default(600_000),
      statusIntervalMs: positiveInt.default(60_000),
      reconnectMinMs: positiveInt.default(1_000),
      reconnectMaxMs: positiveInt.default(60_000),
    })
    .superRefine((c, ctx) => {
      if (c.reconnectMinMs > c.reconnectMaxMs) {
        ctx.addIssue({ code: 'custom', path: ['reconnectMinMs'], message: 'must not exceed reconnectMaxMs' })
      }
    })
    .prefault({}),
  log: z
    .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') })
    .prefault({}),
})

/** A validated config with defaults applied. */
export type NodeConfig = z.infer<typeof ConfigSchema>
/** What a config file may contain before defaults. */
export type NodeConfigInput = z.input<typeof ConfigSchema>

function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname
    return host === '127.0.0.1' || host === 'localhost' || host === '[::1]' || host === '::1'
  } catch {
    return false
  }
}
