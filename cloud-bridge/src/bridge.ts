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
import type mqtt from 'mqtt'
import type { Logger } from 'pino'
import { issuerPort, reconcilerPort, sandboxSmsPort } from './api/adapters.js'
import { type ApiApp, createApi } from './api/app.js'
import { HttpServer } from './api/http-server.js'
import { type Config, defaultMqttConnections, redactConfig } from './config.js'
import { DEFAULT_ALERT_OPTIONS } from './console/alerts.js'
import { ExposureSampler } from './console/sampler.js'
import { bridgeBackend } from './crypto.js'
import { migrate } from './db/migrate.js'
import { openDb } from './db/open.js'
import { DEFAULT_POOL_SIZE } from './db/postgres.js'
import type { Db } from './db/types.js'
import { BoxCommands } from './fleet/box-commands.js'
import {
  type BridgeBroker,
  externalBrokerLogin,
  type MqttLogin,
  startBridgeBroker,
} from './fleet/bridge-broker.js'
import { deviceSecretAad } from './fleet/devices.js'
import type { EmbeddedBroker } from './fleet/embedded-broker.js'
import { openPublisher } from './fleet/mqtt-clients.js'
import { sqlDeviceDirectory, sqlKeyrings } from './ingest/adapters.js'
import { IngestConsumer } from './ingest/consumer.js'
import { BatchProcessor } from './ingest/processor.js'
import { loadMasterKey, type MasterKey } from './issuer/master-key.js'
import { createLogger } from './logger.js'
import { BridgeMetrics } from './metrics/metrics.js'
import { checkedAdapter, mqttBoxLink, sandboxProvider, smsProvider } from './online/bridge-providers.js'
import { OnlinePayments, type PaymentProvider, PayoutScheduler } from './online/index.js'
import { ledgerPort, smsOutboxNotifier, walletsTableFreezer } from './reconcile/adapters.js'
import { Reconciler } from './reconcile/reconciler.js'
import { SandboxSmsProvider, SmsOutbox } from './sms/index.js'
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
  #metrics: BridgeMetrics | undefined
  #endpoints: BridgeEndpoints | undefined
  #broker: BridgeBroker | null = null

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
    return this.#broker?.broker ?? null
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
    if (mqttUrl === null) {
      const broker = await startBridgeBroker({ config: cfg, db, c, unseal, clock: this.#clock, log })
      this.#broker = broker
      this.#started.push({ name: 'embedded broker', stop: () => broker.stop() })
      mqttUrl = broker.url
    }
    const ownUrl = this.#broker?.self.url ?? mqttUrl
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

    const provider = smsProvider(cfg, db)
    const outbox = new SmsOutbox({
      db,
      provider,
      now: this.#clock,
      onError: (err) => log.warn({ err }, 'sms delivery attempt failed'),
    })
    outbox.start()
    this.#started.push({ name: 'sms outbox', stop: () => outbox.stop() })

    const obs = cfg.observability
    const metrics = new BridgeMetrics(db, {
      token: obs.metricsTokenFile ? readFileSync(obs.metricsTokenFile, 'utf8').trim() : null,
      silentBoxMs: obs.silentBoxSeconds * 1000,
      now: () => new Date(this.#clock()),
    })
    this.#metrics = metrics
    const commands = await this.#boxCommands(db, master, ownUrl, reconciler.config.purseGraceSeconds)
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
      mqtt: this.#mqttLogin(),
      log,
      observe: (r, seconds) => metrics.observeIngest(r, seconds),
      onLink: (clientId, connected) => metrics.mqttLink(clientId, connected),
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
  async #boxCommands(
    db: Db,
    master: MasterKey,
    mqttUrl: string,
    purseGraceSeconds: number,
  ): Promise<BoxCommands> {
    const client = await this.#publisher(mqttUrl, 'boxcmd', 'box command publisher')
    const commands = new BoxCommands({
      db,
      c: this.#c,
      sealer: master,
      clock: this.#clock,
      log: this.logger,
      purseGraceSeconds,
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
    let provider: PaymentProvider
    if (cfg.payments.provider === 'adapter')
      provider = await checkedAdapter(cfg, this.#opts.paymentProvider, db)
    else {
      const sandbox = sandboxProvider(cfg, { webhookSecret, clock: this.#clock, app, log: this.logger })
      this.#started.push({ name: 'payment provider', stop: async () => sandbox.stop() })
      provider = sandbox
    }
    const cmd = await this.#publisher(mqttUrl, 'cmd', 'command publisher')
    return new OnlinePayments({
      db,
      provider,
      c: this.#c,
      sealer: master,
      link: mqttBoxLink(cmd),
      webhookSecret,
      now: () => new Date(this.#clock()),
      topupLimits: {
        perWalletDaily: BigInt(cfg.payments.topupLimitPerWalletDaily),
        perTenantDaily: BigInt(cfg.payments.topupLimitPerTenantDaily),
      },
    })
  }

  /** A publishing MQTT client of the bridge's own (`<clientId>-<suffix>`, fleet/mqtt-clients.ts), stopped with it. */
  async #publisher(mqttUrl: string, suffix: string, name: string): Promise<mqtt.MqttClient> {
    const client = await openPublisher(
      mqttUrl,
      {
        ...this.#mqttLogin(),
        clientId: `${this.config.mqtt.clientId}-${suffix}`,
        protocolVersion: this.config.mqtt.url === null ? 4 : 5,
      },
      this.logger,
      (id, connected) => this.#metrics?.mqttLink(id, connected),
    )
    this.#started.push({ name, stop: () => client.endAsync() })
    return client
  }

  /** Login and TLS options of the bridge's own MQTT clients: its fresh login on the embedded broker, or config's. */
  #mqttLogin(): MqttLogin {
    return this.#broker?.self.options ?? externalBrokerLogin(this.config.mqtt)
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
    this.#broker = null
    this.#app = undefined
    this.#reconciler = undefined
    this.#commands = undefined
    this.#metrics = undefined
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
