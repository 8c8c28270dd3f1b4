/**
 * The bridge's configuration: one zod schema, filled from an optional JSON file and then the environment
 * (environment wins), validated all at once so every problem is reported together. Fails closed: a
 * non-loopback address without TLS is refused unless explicitly allowed, and secrets are only ever file
 * paths (the master key, TLS key, SMS token), never values in the config itself.
 */
import { existsSync, readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { hostname } from 'node:os'
import { z } from 'zod'

/** The config format version; older files are migrated on load. */
export const CONFIG_VERSION = 1

/** The embedded MQTT broker's default port: not 1883, so it never collides with a system broker. */
export const DEFAULT_EMBEDDED_MQTT_PORT = 18830

const Duration = z.union([
  z.number().int().positive(),
  z
    .string()
    .regex(/^\d+(s|m|h|d)?$/, 'a duration like 72h, 15m, 30s or a number of seconds')
    .transform((s) => {
      const n = Number.parseInt(s, 10)
      const unit = s.at(-1)
      return unit === 'd' ? n * 86400 : unit === 'h' ? n * 3600 : unit === 'm' ? n * 60 : n
    }),
])

const Port = z.coerce.number().int().min(0).max(65535)
const Bool = z.union([
  z.boolean(),
  z.enum(['1', '0', 'true', 'false', 'yes', 'no']).transform((s) => /^(1|true|yes)$/.test(s)),
])

/** The config schema. Durations are seconds after parsing. */
export const ConfigSchema = z
  .object({
    version: z.literal(CONFIG_VERSION),
    /**
     * test: the sandbox card provider runs and every payment is test money (never in a live payout);
     * live (the default): real money only — the sandbox is refused and a real provider adapter is required.
     */
    mode: z.enum(['test', 'live']).default('live'),
    database: z.object({
      /** postgres://…, a PGlite data directory, or `memory:` (PGlite in memory: demos and tests). */
      url: z
        .string()
        .min(1)
        .default('memory:')
        .transform((u) => (u === 'memory' ? 'memory:' : u)),
      /**
       * PostgreSQL: run data statements as named prepared statements (parsed and planned once per connection).
       * Turn off behind a pooler that cannot carry them (PgBouncer in transaction mode before 1.21).
       */
      prepare: Bool.default(true),
    }),
    mqtt: z.object({
      /** mqtt(s)://… of an external broker; absent → an embedded aedes broker in-process. */
      url: z
        .string()
        .regex(/^(mqtts?|wss?|tcp|tls):\/\//, 'MQTT_URL must be mqtt://, mqtts://, ws:// or wss://')
        .nullable()
        .default(null),
      embeddedHost: z.string().default('127.0.0.1'),
      embeddedPort: Port.default(DEFAULT_EMBEDDED_MQTT_PORT),
      /** PEM files: the embedded broker serves mqtts://. Required to listen beyond loopback. */
      embeddedTlsCertFile: z.string().nullable().default(null),
      embeddedTlsKeyFile: z.string().nullable().default(null),
      /** Stable per replica: the broker keeps this id's session and un-acked messages across restarts. */
      clientId: z.string().min(1).default(`opg-bridge-${hostname()}`),
      /** Shared-subscription group (MQTT 5 brokers): the same for every replica of one deployment. */
      shareGroup: z
        .string()
        .regex(/^[^/+#]+$/, 'a share group name has no /, + or #')
        .default('bridge'),
      /**
       * Connections this replica opens in the shared group, each with one batch in flight (null:
       * defaultMqttConnections). Ignored without a shared subscription.
       */
      connections: z.coerce.number().int().min(1).max(64).nullable().default(null),
      username: z.string().nullable().default(null),
      passwordFile: z.string().nullable().default(null),
      caFile: z.string().nullable().default(null),
      certFile: z.string().nullable().default(null),
      keyFile: z.string().nullable().default(null),
    }),
    /** Token verification threads for MQTT batches: 0 verifies on the main thread; null uses every core. */
    verifyWorkers: z.coerce.number().int().min(0).max(64).nullable().default(null),
    /** How often the reconciliation sweep (auto-approval, purse leftovers) runs. */
    sweepIntervalSeconds: Duration.default(30),
    http: z.object({
      host: z.string().min(1).default('127.0.0.1'),
      port: Port.default(8080),
      tlsCertFile: z.string().nullable().default(null),
      tlsKeyFile: z.string().nullable().default(null),
      /** Serve plain HTTP on a non-loopback address anyway (behind a TLS-terminating proxy). */
      allowInsecureBind: Bool.default(false),
      bodyLimitBytes: z.coerce
        .number()
        .int()
        .min(1024)
        .default(64 * 1024),
      logBodyLimitBytes: z.coerce
        .number()
        .int()
        .min(1024)
        .default(1024 * 1024),
      /**
       * Take the client address from the last X-Forwarded-For hop (set by your reverse proxy) instead of the
       * socket. Only behind a proxy that overwrites the header: otherwise a client chooses its own address.
       */
      trustProxy: Bool.default(false),
      /** Requests per minute one API key may make (per replica). */
      rateLimitPerKeyPerMinute: z.coerce.number().int().min(1).default(600),
      /** Failed authentications per 15 minutes, per key id and per client address, before 429 (per replica). */
      authFailuresPer15Minutes: z.coerce.number().int().min(1).default(20),
    }),
    /** How long a merchant-only payment is held before auto-approval (default 72 h; shorter for demos). */
    holdPeriodSeconds: Duration.default(72 * 3600),
    /** Purse validity signed into wallet certificates (at most 72 h). */
    purseTtlSeconds: Duration.default(72 * 3600).pipe(z.number().max(72 * 3600, 'purse TTL is at most 72h')),
    nodeCertTtlSeconds: Duration.default(365 * 86400),
    /** File holding the 16-byte master key (32 hex or base64) that seals issuer keys and device secrets. */
    masterKeyFile: z.string().nullable().default(null),
    sms: z.object({
      /** sandbox: messages are stored and listed at /v1/sandbox/sms; twilio: a Twilio-compatible HTTP API. */
      provider: z.enum(['sandbox', 'twilio']).default('sandbox'),
      /** Sender number (E.164) or messaging service id. */
      from: z.string().default('+15550000000'),
      twilioBaseUrl: z.url().nullable().default(null),
      twilioAccountSid: z.string().nullable().default(null),
      /** File holding the Twilio auth token. */
      twilioAuthTokenFile: z.string().nullable().default(null),
    }),
    payments: z.object({
      /**
       * sandbox: a test-mode card provider in-process (test tokens, idempotency, signed webhooks), only with
       * mode test. adapter: a real provider's adapter, handed to `new Bridge({ paymentProvider })`.
       * Unset: sandbox in test mode, adapter in live mode (so a live bridge without one refuses to start).
       */
      provider: z.enum(['sandbox', 'adapter']).nullable().default(null),
      /** File holding the provider's webhook signing secret; the sandbox makes a fresh one per start without it. */
      webhookSecretFile: z.string().nullable().default(null),
      /** How long the sandbox waits before its confirmation webhook, ms. */
      sandboxConfirmDelayMs: z.coerce.number().int().min(0).max(60_000).default(0),
      /** Default daily top-up limits in minor units (rolling 24 h); a tenant may set its own. */
      topupLimitPerWalletDaily: z.coerce
        .number()
        .int()
        .min(0)
        .max(Number.MAX_SAFE_INTEGER)
        .default(1_000_000),
      topupLimitPerTenantDaily: z.coerce
        .number()
        .int()
        .min(0)
        .max(Number.MAX_SAFE_INTEGER)
        .default(100_000_000),
    }),
    log: z.object({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    }),
    /** The console's figures, /metrics and the alerts computed by the bridge. */
    observability: z.object({
      /** File holding the bearer token Prometheus sends to /metrics; without it /metrics answers loopback only. */
      metricsTokenFile: z.string().nullable().default(null),
      /** How often the fleet's unsynced exposure is sampled for the console chart (0: never). */
      exposureSampleSeconds: z.coerce.number().int().min(0).max(86_400).default(60),
      /** A box unseen this long while holding payments raises an alert. */
      silentBoxSeconds: Duration.default(6 * 3600),
    }),
  })
  .superRefine((c, ctx) => {
    const tls = c.http.tlsCertFile !== null || c.http.tlsKeyFile !== null
    if (tls && (c.http.tlsCertFile === null || c.http.tlsKeyFile === null)) {
      ctx.addIssue({
        code: 'custom',
        path: ['http', 'tlsKeyFile'],
        message: 'TLS needs both a certificate and a key file',
      })
    }
    if (!tls && !isLoopback(c.http.host) && !c.http.allowInsecureBind) {
      ctx.addIssue({
        code: 'custom',
        path: ['http', 'host'],
        message: `refusing to serve plain HTTP on non-loopback ${c.http.host}: configure TLS or set OPG_ALLOW_INSECURE_BIND=1`,
      })
    }
    const mqttTls = c.mqtt.embeddedTlsCertFile !== null || c.mqtt.embeddedTlsKeyFile !== null
    if (mqttTls && (c.mqtt.embeddedTlsCertFile === null || c.mqtt.embeddedTlsKeyFile === null)) {
      ctx.addIssue({
        code: 'custom',
        path: ['mqtt', 'embeddedTlsKeyFile'],
        message: 'the embedded broker needs both a TLS certificate and a key file',
      })
    }
    // The embedded broker always authenticates; beyond loopback its passwords must not cross the wire in clear.
    if (c.mqtt.url === null && !mqttTls && !isLoopback(c.mqtt.embeddedHost)) {
      ctx.addIssue({
        code: 'custom',
        path: ['mqtt', 'embeddedHost'],
        message: `refusing a plain MQTT listener on non-loopback ${c.mqtt.embeddedHost}: set OPG_MQTT_EMBEDDED_TLS_CERT_FILE and OPG_MQTT_EMBEDDED_TLS_KEY_FILE, or use an external broker (MQTT_URL)`,
      })
    }
    if (c.mode === 'live' && c.payments.provider === 'sandbox') {
      ctx.addIssue({
        code: 'custom',
        path: ['payments', 'provider'],
        message:
          'the sandbox card provider makes test money and runs only with mode: test (OPG_MODE=test); a live bridge needs a real provider adapter (payments.provider: adapter)',
      })
    }
    if (c.sms.provider === 'twilio' && (!c.sms.twilioAccountSid || !c.sms.twilioAuthTokenFile)) {
      ctx.addIssue({
        code: 'custom',
        path: ['sms', 'twilioAccountSid'],
        message: 'the twilio provider needs OPG_SMS_TWILIO_ACCOUNT_SID and OPG_SMS_TWILIO_AUTH_TOKEN_FILE',
      })
    }
  })
  .transform((c) => ({
    ...c,
    payments: { ...c.payments, provider: c.payments.provider ?? (c.mode === 'test' ? 'sandbox' : 'adapter') },
  }))

/** A validated configuration. */
export type Config = z.output<typeof ConfigSchema>

/** Every config problem at once, one line each. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  readonly code = 'bad_config'
  readonly issues: string[]
  constructor(issues: string[], options?: { cause?: unknown }) {
    super(`invalid configuration:\n  ${issues.join('\n  ')}`, options)
    this.issues = issues
  }
}

/**
 * Ingest connections when the configuration names none: two per core, so a core always has a batch to verify or
 * reconcile while another waits on the database (the sync storm drained 15 % faster than with one per core, at
 * the same CPU per payment), but two fewer than the database pool holds, so batches never queue for a pool
 * connection and the API and the sweeps always find one.
 */
export function defaultMqttConnections(cores: number, poolSize: number): number {
  return Math.max(1, Math.min(2 * cores, poolSize - 2))
}

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true
  return isIP(host) === 4 && host.startsWith('127.')
}

/** Environment variable → config path. */
const ENV_MAP: Record<string, string[]> = {
  DATABASE_URL: ['database', 'url'],
  OPG_DB_PREPARE: ['database', 'prepare'],
  MQTT_URL: ['mqtt', 'url'],
  OPG_MQTT_EMBEDDED_HOST: ['mqtt', 'embeddedHost'],
  OPG_MQTT_EMBEDDED_PORT: ['mqtt', 'embeddedPort'],
  OPG_MQTT_EMBEDDED_TLS_CERT_FILE: ['mqtt', 'embeddedTlsCertFile'],
  OPG_MQTT_EMBEDDED_TLS_KEY_FILE: ['mqtt', 'embeddedTlsKeyFile'],
  OPG_MQTT_CLIENT_ID: ['mqtt', 'clientId'],
  OPG_MQTT_SHARE_GROUP: ['mqtt', 'shareGroup'],
  OPG_MQTT_CONNECTIONS: ['mqtt', 'connections'],
  OPG_MQTT_USERNAME: ['mqtt', 'username'],
  OPG_MQTT_PASSWORD_FILE: ['mqtt', 'passwordFile'],
  OPG_MQTT_CA_FILE: ['mqtt', 'caFile'],
  OPG_MQTT_CERT_FILE: ['mqtt', 'certFile'],
  OPG_MQTT_KEY_FILE: ['mqtt', 'keyFile'],
  OPG_VERIFY_WORKERS: ['verifyWorkers'],
  OPG_SWEEP_INTERVAL: ['sweepIntervalSeconds'],
  OPG_HTTP_HOST: ['http', 'host'],
  OPG_HTTP_PORT: ['http', 'port'],
  OPG_TLS_CERT_FILE: ['http', 'tlsCertFile'],
  OPG_TLS_KEY_FILE: ['http', 'tlsKeyFile'],
  OPG_ALLOW_INSECURE_BIND: ['http', 'allowInsecureBind'],
  OPG_BODY_LIMIT_BYTES: ['http', 'bodyLimitBytes'],
  OPG_LOG_BODY_LIMIT_BYTES: ['http', 'logBodyLimitBytes'],
  OPG_HOLD_PERIOD: ['holdPeriodSeconds'],
  OPG_PURSE_TTL: ['purseTtlSeconds'],
  OPG_NODE_CERT_TTL: ['nodeCertTtlSeconds'],
  OPG_MASTER_KEY_FILE: ['masterKeyFile'],
  OPG_SMS_PROVIDER: ['sms', 'provider'],
  OPG_SMS_FROM: ['sms', 'from'],
  OPG_SMS_TWILIO_BASE_URL: ['sms', 'twilioBaseUrl'],
  OPG_SMS_TWILIO_ACCOUNT_SID: ['sms', 'twilioAccountSid'],
  OPG_SMS_TWILIO_AUTH_TOKEN_FILE: ['sms', 'twilioAuthTokenFile'],
  OPG_LOG_LEVEL: ['log', 'level'],
  OPG_METRICS_TOKEN_FILE: ['observability', 'metricsTokenFile'],
  OPG_EXPOSURE_SAMPLE_SECONDS: ['observability', 'exposureSampleSeconds'],
  OPG_SILENT_BOX_PERIOD: ['observability', 'silentBoxSeconds'],
  OPG_MODE: ['mode'],
  OPG_TRUST_PROXY: ['http', 'trustProxy'],
  OPG_RATE_LIMIT_PER_KEY: ['http', 'rateLimitPerKeyPerMinute'],
  OPG_AUTH_FAILURES_LIMIT: ['http', 'authFailuresPer15Minutes'],
  OPG_TOPUP_LIMIT_WALLET_DAILY: ['payments', 'topupLimitPerWalletDaily'],
  OPG_TOPUP_LIMIT_TENANT_DAILY: ['payments', 'topupLimitPerTenantDaily'],
  OPG_PAYMENTS_PROVIDER: ['payments', 'provider'],
  OPG_WEBHOOK_SECRET_FILE: ['payments', 'webhookSecretFile'],
  OPG_SANDBOX_CONFIRM_DELAY_MS: ['payments', 'sandboxConfirmDelayMs'],
}

type Obj = Record<string, unknown>

function setPath(o: Obj, path: string[], value: unknown): void {
  let cur = o
  for (const k of path.slice(0, -1)) {
    if (typeof cur[k] !== 'object' || cur[k] === null) cur[k] = {}
    cur = cur[k] as Obj
  }
  cur[path.at(-1)!] = value
}

/** Bring an older config file up to CONFIG_VERSION. Version-less files are version 1. */
export function migrateConfigFile(raw: Obj): Obj {
  const out = structuredClone(raw)
  if (out.version === undefined) out.version = 1
  return out
}

/** Options of loadConfig: the environment and, optionally, the config file path (else OPG_CONFIG_FILE). */
export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv
  file?: string
}

/** Load and validate the configuration. Throws one ConfigError listing every problem. */
export function loadConfig(opts: LoadConfigOptions = {}): Config {
  const env = opts.env ?? process.env
  const issues: string[] = []
  let raw: Obj = { version: CONFIG_VERSION }
  const file = opts.file ?? env.OPG_CONFIG_FILE
  if (file) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'))
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        throw new Error('not an object')
      raw = migrateConfigFile(parsed as Obj)
    } catch (err) {
      issues.push(`config file ${file}: ${(err as Error).message}`)
    }
  }
  for (const k of ['database', 'mqtt', 'http', 'sms', 'payments', 'log', 'observability'])
    if (raw[k] === undefined) raw[k] = {}
  for (const [name, path] of Object.entries(ENV_MAP)) {
    const v = env[name]
    if (v !== undefined && v !== '') setPath(raw, path, v)
  }
  const result = ConfigSchema.safeParse(raw)
  if (!result.success) {
    for (const i of result.error.issues) issues.push(`${i.path.join('.') || '(root)'}: ${i.message}`)
  } else {
    const c = result.data
    for (const [label, f] of [
      ['http.tlsCertFile', c.http.tlsCertFile],
      ['http.tlsKeyFile', c.http.tlsKeyFile],
      ['sms.twilioAuthTokenFile', c.sms.twilioAuthTokenFile],
      ['mqtt.passwordFile', c.mqtt.passwordFile],
      ['mqtt.embeddedTlsCertFile', c.mqtt.embeddedTlsCertFile],
      ['mqtt.embeddedTlsKeyFile', c.mqtt.embeddedTlsKeyFile],
      ['mqtt.caFile', c.mqtt.caFile],
      ['mqtt.certFile', c.mqtt.certFile],
      ['mqtt.keyFile', c.mqtt.keyFile],
      ['observability.metricsTokenFile', c.observability.metricsTokenFile],
    ] as const) {
      if (f !== null && !existsSync(f)) issues.push(`${label}: file ${f} does not exist`)
    }
  }
  if (issues.length > 0 || !result.success) throw new ConfigError(issues)
  return result.data
}

/** The config with secrets masked, for logs: the database password never appears. */
export function redactConfig(c: Config): Config {
  const out = structuredClone(c)
  out.database.url = out.database.url.replace(/^(postgres(?:ql)?:\/\/[^:/@]*):[^@]*@/, '$1:***@')
  if (out.mqtt.url) out.mqtt.url = out.mqtt.url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@')
  return out
}

/** The pino redact paths used by every bridge logger. */
export const LOG_REDACT_PATHS = [
  'key',
  '*.key',
  'apiKey',
  '*.apiKey',
  'deviceSecret',
  '*.deviceSecret',
  'masterKey',
  'req.headers.authorization',
  'headers.authorization',
  '*.password',
  'secretKey',
  '*.secretKey',
]
