/**
 * The composition root: builds every part of a bridge from its Config and owns their lifecycle.
 * start() brings them up in dependency order — database (+ migrations), MQTT broker (embedded aedes when no
 * MQTT_URL), token verification, reconciliation sweeps, SMS outbox, MQTT ingest consumer, HTTP server —
 * and stop() takes them down in reverse. A failed start stops whatever had started. Nothing here is a
 * module-level singleton: two bridges can run in one process (tests do).
 */

import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import type { CryptoBackend } from '@opg/protocol'
import mqtt from 'mqtt'
import { type Logger, pino } from 'pino'
import { issuerPort, reconcilerPort, sandboxSmsPort } from './api/adapters.js'
import { type ApiApp, createApi } from './api/app.js'
import { BridgeError } from './api/errors.js'
import { HttpServer } from './api/http-server.js'
import { type Config, ConfigError, defaultMqttConnections, LOG_REDACT_PATHS, redactConfig } from './config.js'
import { DEFAULT_ALERT_OPTIONS } from './console/alerts.js'
import { ExposureSampler } from './console/sampler.js'
import { bridgeBackend } from './crypto.js'
import { migrate } from './db/migrate.js'
import { openDb } from './db/open.js'
import { DEFAULT_POOL_SIZE } from './db/postgres.js'
import type { Db } from './db/types.js'
import { BoxCommands } from './fleet/box-commands.js'
import { BrokerGate, sqlBrokerDirectory } from './fleet/broker-gate.js'
import { deviceSecretAad } from './fleet/devices.js'
import { EmbeddedBroker, type PresenceEvent } from './fleet/embedded-broker.js'
import { sqlDeviceDirectory, sqlKeyrings } from './ingest/adapters.js'
import { IngestConsumer } from './ingest/consumer.js'
import { BatchProcessor } from './ingest/processor.js'
import { MasterKey } from './issuer/master-key.js'
import { BridgeMetrics } from './metrics/metrics.js'
import {
  type BoxLink,
  OnlinePayments,
  type PaymentProvider,
  PayoutScheduler,
  SandboxProvider,
} from './online/index.js'
import { ledgerPort, smsOutboxNotifier, walletsTableFreezer } from './reconcile/adapters.js'
import { Reconciler } from './reconcile/reconciler.js'
import { SandboxSmsProvider, SmsOutbox, type SmsProvider, TwilioSmsProvider } from './sms/index.js'
import { InlineVerifier, type TokenVerifier, VerifyPool } from './verify/pool.js'

/** How to build a bridge. */
export interface BridgeOptions {
  config: Config
  /** Default: a pino logger at config.log.level with secrets redacted. */
  logger?: Logger
  /**
   * The bridge clock, ms since the epoch (tests step it). Default: Date.now, and for reconciliation's
   * deadlines the database's clock.
   */
  clock?: () => number
  /** Apply pending migrations at start (default true; safe with several replicas). */
  migrate?: boolean
  crypto?: CryptoBackend
  /**
   * A real card provider's adapter (config payments.provider: adapter). Its webhooks arrive at
   * POST /webhooks/provider signed with the secret in payments.webhookSecretFile.
   */
  paymentProvider?: PaymentProvider
}

/** Where a started bridge can be reached. */
export interface BridgeEndpoints {
  httpUrl: string
  mqttUrl: string
}

/** A pino logger with the bridge's redaction rules. */
export function createLogger(level: Config['log']['level'], destination?: pino.DestinationStream): Logger {
  const opts = { level, redact: { paths: LOG_REDACT_PATHS, censor: '[redacted]' } }
  return destination ? pino(opts, destination) : pino(opts)
}

/** Read the master key file; there is no default key, so a missing file refuses to start. */
export function loadMasterKey(c: CryptoBackend, file: string | null): MasterKey {
  if (!file)
    throw new BridgeError(
      'not_configured',
      'no master key file: set OPG_MASTER_KEY_FILE (opg-bridge issuer init)',
    )
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new BridgeError('not_configured', `cannot read master key file ${file}`, { cause: err })
  }
  return MasterKey.parse(c, text)
}

interface Stoppable {
  name: string
  stop(): Promise<void> | void
}

/** One bridge replica. */
export class Bridge {
  readonly config: Config
  readonly logger: Logger
  readonly #opts: BridgeOptions
  readonly #c: CryptoBackend
  readonly #clock: () => number
  #started: Stoppable[] = []
  #db: Db | undefined
  #app: ApiApp | undefined
  #reconciler: Reconciler | undefined
  #payouts: PayoutScheduler | undefined
  #commands: BoxCommands | undefined
  #endpoints: BridgeEndpoints | undefined
  #broker: EmbeddedBroker | null = null
  /** The bridge's own login on the embedded broker: fresh per start, never written anywhere. */
  #brokerLogin: { username: string; password: string } | null = null
  /** How the bridge's own clients reach its embedded broker (loopback; TLS pinned to its CA, see below). */
  #brokerSelf: { url: string; tls: { ca: Buffer; checkServerIdentity: () => undefined } | null } | null = null

  constructor(opts: BridgeOptions) {
    this.#opts = opts
    this.config = opts.config
    this.logger = opts.logger ?? createLogger(opts.config.log.level)
    this.#c = opts.crypto ?? bridgeBackend
    this.#clock = opts.clock ?? Date.now
  }

  /** The database, once started. */
  get db(): Db {
    if (!this.#db) throw new Error('bridge not started')
    return this.#db
  }

  /** The HTTP API app, once started (tests call `app.request()` on it). */
  get app(): ApiApp {
    if (!this.#app) throw new Error('bridge not started')
    return this.#app
  }

  /** Reconciliation (sweepOnce for demos and tests), once started. */
  get reconciler(): Reconciler {
    if (!this.#reconciler) throw new Error('bridge not started')
    return this.#reconciler
  }

  /** The payout scheduler (runOnce for demos and tests), once started. */
  get payouts(): PayoutScheduler {
    if (!this.#payouts) throw new Error('bridge not started')
    return this.#payouts
  }

  /** Time and revocation commands to boxes (publishRevocations after a freeze), once started. */
  get commands(): BoxCommands {
    if (!this.#commands) throw new Error('bridge not started')
    return this.#commands
  }

  /** The embedded broker, when the bridge runs one (null with an external broker). */
  get embeddedBroker(): EmbeddedBroker | null {
    return this.#broker
  }

  /** Where the started bridge listens. */
  get endpoints(): BridgeEndpoints {
    if (!this.#endpoints) throw new Error('bridge not started')
    return this.#endpoints
  }

  /** Start everything; on failure, stop what started and rethrow. */
  async start(): Promise<BridgeEndpoints> {
    if (this.#endpoints) return this.#endpoints
    try {
      return await this.#start()
    } catch (err) {
      await this.stop()
      throw err
    }
  }

  async #start(): Promise<BridgeEndpoints> {
    const cfg = this.config
    const log = this.logger
    const c = this.#c
    log.info({ config: redactConfig(cfg) }, 'starting bridge')
    const master = loadMasterKey(c, cfg.masterKeyFile)

    const db = await openDb(cfg.database.url, { warn: (m) => log.warn(m), prepare: cfg.database.prepare })
    this.#db = db
    this.#started.push({ name: 'database', stop: () => db.close() })
    if (this.#opts.migrate ?? true) {
      const m = await migrate(db)
      if (m.applied.length > 0) log.info({ applied: m.applied }, 'migrations applied')
    }

    const unseal = (sealed: Uint8Array, tenantId: string, deviceId: string) =>
      master.open(sealed, deviceSecretAad(tenantId, deviceId))
    let mqttUrl = cfg.mqtt.url
    if (mqttUrl === null) mqttUrl = await this.#startEmbeddedBroker(db, unseal)
    const ownUrl = this.#brokerSelf?.url ?? mqttUrl
    let verifier: TokenVerifier = new InlineVerifier()
    if (cfg.verifyWorkers !== 0) {
      const pool = new VerifyPool(cfg.verifyWorkers === null ? {} : { size: cfg.verifyWorkers })
      await pool.start()
      this.#started.push({ name: 'verify pool', stop: () => pool.stop() })
      verifier = pool
    }

    const reconciler = new Reconciler({
      db,
      ledger: ledgerPort(),
      notifier: smsOutboxNotifier(),
      wallets: walletsTableFreezer(),
      // Deadlines (hold ends, claim windows, purse grace) follow the database's clock unless a test steps time.
      ...(this.#opts.clock ? { clock: this.#opts.clock } : {}),
      config: { holdSeconds: cfg.holdPeriodSeconds },
      sweepIntervalMs: cfg.sweepIntervalSeconds * 1000,
      log,
    })
    this.#reconciler = reconciler
    reconciler.start()
    this.#started.push({ name: 'reconciliation sweep', stop: () => reconciler.stop() })

    // Every replica runs it: batch keys per period and a lock per (tenant, currency) keep it to one batch.
    const payouts = new PayoutScheduler({
      db,
      testMode: cfg.mode === 'test',
      ...(this.#opts.clock ? { clock: this.#opts.clock } : {}),
      onError: (err) => log.error({ err }, 'payout schedule failed'),
    })
    this.#payouts = payouts
    payouts.start()
    this.#started.push({ name: 'payout scheduler', stop: () => payouts.stop() })

    const provider = this.#smsProvider(db)
    const outbox = new SmsOutbox({
      db,
      provider,
      now: this.#clock,
      onError: (err) => log.warn({ err }, 'sms delivery attempt failed'),
    })
    outbox.start()
    this.#started.push({ name: 'sms outbox', stop: () => outbox.stop() })

    const commands = await this.#boxCommands(db, master, ownUrl)
    const obs = cfg.observability
    const metrics = new BridgeMetrics(db, {
      token: obs.metricsTokenFile ? readFileSync(obs.metricsTokenFile, 'utf8').trim() : null,
      silentBoxMs: obs.silentBoxSeconds * 1000,
      now: () => new Date(this.#clock()),
    })
    const processor = new BatchProcessor({
      onStatus: (tenantId, deviceId, state) => commands.onStatus(tenantId, deviceId, state),
      db,
      reconciler,
      verifier,
      devices: sqlDeviceDirectory(db, unseal),
      keyrings: sqlKeyrings(db),
      crypto: c,
      clock: this.#clock,
      log,
      presence: cfg.mqtt.url === null ? 'broker' : 'status',
    })
    const embedded = cfg.mqtt.url === null
    const consumer = new IngestConsumer(processor, {
      url: ownUrl,
      clientId: cfg.mqtt.clientId,
      protocolVersion: embedded ? 4 : 5,
      group: cfg.mqtt.shareGroup,
      connections: cfg.mqtt.connections ?? defaultMqttConnections(availableParallelism(), DEFAULT_POOL_SIZE),
      mqtt: this.#mqttClientOptions(),
      log,
      observe: (r, seconds) => metrics.observeIngest(r, seconds),
    })
    await consumer.start()
    this.#started.push({ name: 'ingest consumer', stop: () => consumer.stop() })

    const online = await this.#online(db, master, ownUrl, () => app)

    const issuer = issuerPort(db, { c, sealer: master })
    const sampler = new ExposureSampler({
      db,
      everyMs: obs.exposureSampleSeconds * 1000,
      now: () => new Date(this.#clock()),
      onError: (err) => log.warn({ err }, 'exposure sample failed'),
    })
    sampler.start()
    this.#started.push({ name: 'exposure sampler', stop: () => sampler.stop() })
    const app: ApiApp = createApi({
      metrics,
      boxCommands: commands,
      alerts: { ...DEFAULT_ALERT_OPTIONS, silentBoxMs: obs.silentBoxSeconds * 1000 },
      online,
      db,
      issuer,
      reconciler: reconcilerPort({
        db,
        reconciler,
        verifier: new InlineVerifier(),
        issuer,
        clock: this.#clock,
        graceS: reconciler.config.purseGraceSeconds,
      }),
      sms: provider instanceof SandboxSmsProvider ? sandboxSmsPort(provider) : null,
      sealer: master,
      now: () => new Date(this.#clock()),
      purseTtlSeconds: cfg.purseTtlSeconds,
      nodeCertTtlSeconds: cfg.nodeCertTtlSeconds,
      logger: log,
      limits: { bodyBytes: cfg.http.bodyLimitBytes, logBodyBytes: cfg.http.logBodyLimitBytes },
      rateLimits: {
        perKeyPerMinute: cfg.http.rateLimitPerKeyPerMinute,
        authFailuresPer15Minutes: cfg.http.authFailuresPer15Minutes,
        trustProxy: cfg.http.trustProxy,
      },
      topupLimits: {
        perWalletDaily: BigInt(cfg.payments.topupLimitPerWalletDaily),
        perTenantDaily: BigInt(cfg.payments.topupLimitPerTenantDaily),
      },
    })
    this.#app = app

    const tls =
      cfg.http.tlsCertFile && cfg.http.tlsKeyFile
        ? { cert: readFileSync(cfg.http.tlsCertFile), key: readFileSync(cfg.http.tlsKeyFile) }
        : null
    const http = new HttpServer({
      fetch: app.fetch,
      host: cfg.http.host,
      port: cfg.http.port,
      tls,
      allowInsecureBind: cfg.http.allowInsecureBind,
    })
    const httpUrl = await http.start()
    this.#started.push({ name: 'http server', stop: () => http.stop() })
    log.info({ httpUrl, mqttUrl, tls: tls !== null }, 'bridge started')
    this.#endpoints = { httpUrl, mqttUrl }
    return this.#endpoints
  }

  /**
   * Trusted time and revocation lists for the boxes (fleet/box-commands.ts), over an MQTT client of their own
   * so a slow publish never holds up ingest or online payments.
   */
  async #boxCommands(db: Db, master: MasterKey, mqttUrl: string): Promise<BoxCommands> {
    const client = await mqtt.connectAsync(mqttUrl, {
      ...this.#mqttClientOptions(),
      clientId: `${this.config.mqtt.clientId}-boxcmd`,
      protocolVersion: this.config.mqtt.url === null ? 4 : 5,
      reconnectPeriod: 1000,
    })
    this.#started.push({ name: 'box command publisher', stop: () => client.endAsync() })
    const commands = new BoxCommands({
      db,
      c: this.#c,
      sealer: master,
      clock: this.#clock,
      log: this.logger,
      link: {
        publish: async (topicName, payload) => {
          // Bounded: while the broker is away mqtt.js would hold the publish; the box's next status retries.
          await withDeadline(client.publishAsync(topicName, Buffer.from(payload), { qos: 1 }), 10_000)
        },
      },
    })
    commands.start()
    this.#started.push({ name: 'box commands', stop: async () => commands.stop() })
    this.#commands = commands
    return commands
  }

  /**
   * Online payments: the card provider (the sandbox in test mode, confirming by a signed webhook sent to the
   * API's own webhook route in process; or a real provider's adapter), and a command MQTT client of its own
   * for box notices.
   */
  async #online(db: Db, master: MasterKey, mqttUrl: string, app: () => ApiApp): Promise<OnlinePayments> {
    const cfg = this.config
    const webhookSecret = cfg.payments.webhookSecretFile
      ? readFileSync(cfg.payments.webhookSecretFile, 'utf8').trim()
      : randomBytes(24).toString('hex')
    const provider =
      cfg.payments.provider === 'adapter' ? await this.#adapter(db) : this.#sandbox(webhookSecret, app)
    const cmd = await mqtt.connectAsync(mqttUrl, {
      ...this.#mqttClientOptions(),
      clientId: `${cfg.mqtt.clientId}-cmd`,
      protocolVersion: cfg.mqtt.url === null ? 4 : 5,
      reconnectPeriod: 1000,
    })
    this.#started.push({ name: 'command publisher', stop: () => cmd.endAsync() })
    const link: BoxLink = {
      isOnline: async (tx, tenantId, deviceId) => {
        const r = await tx.query<{ online: boolean }>(
          'SELECT online FROM devices WHERE tenant_id = $1 AND id = $2',
          [tenantId, deviceId],
        )
        return r.rows[0]?.online === true && cmd.connected
      },
      publish: async (topicName, payload) => {
        await cmd.publishAsync(topicName, Buffer.from(payload), { qos: 1 })
      },
    }
    return new OnlinePayments({
      db,
      provider,
      c: this.#c,
      sealer: master,
      link,
      webhookSecret,
      now: () => new Date(this.#clock()),
      topupLimits: {
        perWalletDaily: BigInt(cfg.payments.topupLimitPerWalletDaily),
        perTenantDaily: BigInt(cfg.payments.topupLimitPerTenantDaily),
      },
    })
  }

  /**
   * A real provider's adapter, checked before it can move money: its mode matches the bridge's, it comes with
   * its webhook secret, and a live bridge's database holds no test money (a test database never goes live).
   */
  async #adapter(db: Db): Promise<PaymentProvider> {
    const cfg = this.config
    const provider = this.#opts.paymentProvider
    const issues: string[] = []
    if (!provider)
      issues.push(
        `payments.provider: mode ${cfg.mode} needs a real card provider adapter passed to new Bridge({ paymentProvider }); the sandbox runs only with mode: test (OPG_MODE=test)`,
      )
    if (!cfg.payments.webhookSecretFile)
      issues.push(
        'payments.webhookSecretFile: a real provider signs its webhooks with a secret you set there',
      )
    if (provider && provider.testMode !== (cfg.mode === 'test')) {
      const its = provider.testMode ? 'test' : 'live'
      issues.push(`payments.provider: the ${provider.name} adapter is in ${its} mode but mode is ${cfg.mode}`)
    }
    if (cfg.mode === 'live') {
      const test = await db.query('SELECT 1 FROM online_payments WHERE test_mode LIMIT 1')
      if (test.rowCount > 0)
        issues.push(
          'mode: this database holds test-mode payments; run live on a database that never ran in test mode',
        )
    }
    if (issues.length > 0 || !provider) throw new ConfigError(issues)
    return provider
  }

  /** The sandbox provider: test tokens, test money. */
  #sandbox(webhookSecret: string, app: () => ApiApp): SandboxProvider {
    const cfg = this.config
    const log = this.logger
    // The config schema refuses the sandbox outside test mode; this keeps it true for configs built by hand.
    if (cfg.mode !== 'test')
      throw new ConfigError(['payments.provider: the sandbox runs only with mode: test'])
    const provider = new SandboxProvider({
      webhookSecret,
      confirmDelayMs: cfg.payments.sandboxConfirmDelayMs,
      now: this.#clock,
      deliver: async (body, signature) => {
        const res = await app().request('/webhooks/provider', {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json', 'opg-signature': signature },
        })
        if (!res.ok) throw new Error(`webhook refused: ${res.status}`)
      },
      onError: (err) => log.warn({ err }, 'payment webhook not taken'),
    })
    this.#started.push({ name: 'payment provider', stop: async () => provider.stop() })
    return provider
  }

  #smsProvider(db: Db): SmsProvider {
    const s = this.config.sms
    if (s.provider === 'twilio') {
      return new TwilioSmsProvider({
        accountSid: s.twilioAccountSid!,
        authToken: readFileSync(s.twilioAuthTokenFile!, 'utf8').trim(),
        from: s.from,
        ...(s.twilioBaseUrl ? { baseUrl: s.twilioBaseUrl } : {}),
      })
    }
    return new SandboxSmsProvider({ db, from: s.from })
  }

  /**
   * The embedded broker, locked: boxes log in with their derived password, the bridge with a fresh random one;
   * its session events are the boxes' online/offline signal, applied in order.
   */
  async #startEmbeddedBroker(
    db: Db,
    unseal: (sealed: Uint8Array, tenantId: string, deviceId: string) => Uint8Array,
  ): Promise<string> {
    const cfg = this.config
    const log = this.logger
    const login = { username: 'opg-bridge', password: randomBytes(32).toString('base64url') }
    // Nobody is connected to a broker that is just starting, whatever an earlier run left in the table.
    await db.query('UPDATE devices SET online = false WHERE online')
    let presence: Promise<unknown> = Promise.resolve()
    const onPresence = (e: PresenceEvent) => {
      const at = new Date(this.#clock())
      presence = presence
        .then(() =>
          db.query(
            `UPDATE devices SET online = $3,
               last_seen_at = CASE WHEN $3 THEN greatest(coalesce(last_seen_at, $4), $4) ELSE last_seen_at END
             WHERE tenant_id = $1 AND id = $2`,
            [e.tenantId, e.deviceId, e.online, at],
          ),
        )
        .catch((err) => log.warn({ err, ...e }, 'box presence not recorded'))
    }
    const tls =
      cfg.mqtt.embeddedTlsCertFile && cfg.mqtt.embeddedTlsKeyFile
        ? { cert: readFileSync(cfg.mqtt.embeddedTlsCertFile), key: readFileSync(cfg.mqtt.embeddedTlsKeyFile) }
        : null
    const broker = new EmbeddedBroker({
      host: cfg.mqtt.embeddedHost,
      port: cfg.mqtt.embeddedPort,
      tls,
      gate: new BrokerGate({
        directory: sqlBrokerDirectory(db, unseal),
        bridge: login,
        bridgeClientId: cfg.mqtt.clientId,
        c: this.#c,
      }),
      onPresence,
      onWarning: (detail, message) => log.warn(detail, message),
    })
    const url = await broker.start()
    this.#broker = broker
    this.#brokerLogin = login
    // The bridge's own clients go over loopback even when the broker listens on every address. Over TLS they
    // verify the chain (OPG_MQTT_CA_FILE, or the certificate itself when self-signed) but not the name: the
    // certificate names the public address, and this connection never leaves the machine.
    const port = new URL(url).port
    const wildcard = ['0.0.0.0', '::', '[::]'].includes(cfg.mqtt.embeddedHost)
    const host = wildcard ? '127.0.0.1' : new URL(url).hostname
    this.#brokerSelf = {
      url: `${tls ? 'mqtts' : 'mqtt'}://${host}:${port}`,
      tls: tls
        ? {
            ca: cfg.mqtt.caFile ? readFileSync(cfg.mqtt.caFile) : tls.cert,
            checkServerIdentity: () => undefined,
          }
        : null,
    }
    this.#started.push({
      name: 'embedded broker',
      stop: async () => {
        await broker.stop()
        this.#broker = null
        this.#brokerLogin = null
        this.#brokerSelf = null
        await presence
      },
    })
    log.info({ url }, 'embedded MQTT broker listening')
    return url
  }

  #mqttClientOptions() {
    const login = this.#brokerLogin
    if (login) return { username: login.username, password: login.password, ...(this.#brokerSelf?.tls ?? {}) }
    const m = this.config.mqtt
    return {
      ...(m.username ? { username: m.username } : {}),
      ...(m.passwordFile ? { password: readFileSync(m.passwordFile, 'utf8').trim() } : {}),
      ...(m.caFile ? { ca: readFileSync(m.caFile) } : {}),
      ...(m.certFile ? { cert: readFileSync(m.certFile) } : {}),
      ...(m.keyFile ? { key: readFileSync(m.keyFile) } : {}),
    }
  }

  /** Stop everything that started, newest first. Errors are logged and do not stop the rest. Idempotent. */
  async stop(): Promise<void> {
    const parts = this.#started.reverse()
    this.#started = []
    for (const p of parts) {
      try {
        await p.stop()
      } catch (err) {
        this.logger.error({ err, part: p.name }, 'stop failed')
      }
    }
    this.#endpoints = undefined
    this.#app = undefined
    this.#reconciler = undefined
    this.#commands = undefined
    this.#db = undefined
  }
}

/** Reject if `p` has not settled within `ms`. */
function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
  })
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer))
}
