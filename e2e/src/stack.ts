/**
 * The whole system in one process: a bridge (embedded PGlite or PostgreSQL, embedded aedes or an external
 * broker, sandbox SMS and card provider, issuer key made on first run), a tenant with its operator key, and
 * one merchant box in simulated-hardware mode, provisioned automatically and reaching the broker through a
 * NetLink (so coverage can be cut). Everything lives in one data folder; a second start reuses it.
 */
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { Bridge, createLogger, createTenant, loadConfig, loadMasterKey } from '@opg/cloud-bridge'
import type { ble, Logger } from '@opg/node-runtime'
import { nodeBackend as c } from '@opg/protocol/node'
import type { Logger as PinoLogger } from 'pino'
// The issuer bootstrap is what `opg-bridge tenant create` runs; it is not on the bridge's package surface.
import { initIssuer } from '../../cloud-bridge/src/issuer/index.js'
import { SandboxSmsProvider } from '../../cloud-bridge/src/sms/index.js'
import { Api } from './api.js'
import { LocalBox } from './box.js'
import { NetLink } from './net-link.js'
import { type ProvisionedBox, provisionBox } from './provision.js'
import { SmsNetwork } from './sms-network.js'

type BleBinding = ble.BleBinding

/** Options of LocalStack. */
export interface LocalStackOptions {
  /** The data folder (created): bridge database, master key, the box's files, stack.json. */
  dataDir: string
  /** Bridge settings as environment variables (cloud-bridge's names); they win over the local defaults. */
  env?: NodeJS.ProcessEnv
  /** Bridge logger (default: pino to <dataDir>/bridge.log). */
  bridgeLogger?: PinoLogger
  /** Box logger (default: none). */
  boxLogger?: Logger
  /** The box's BLE binding, made once its device id is known (see ble-rig.ts); none by default. */
  boxBle?: (deviceId: string) => BleBinding
  /** The in-process box's system clock (default Date.now): a Pi without RTC is often minutes off. */
  boxSystemTime?: () => number
  /** Start the provisioned box in this process (default true; false when a test runs `opg-node` itself). */
  startBox?: boolean
  /** Names used on first start. */
  tenantName?: string
  merchantName?: string
  currency?: string
}

/** What a started stack reports. */
export interface StackInfo {
  httpUrl: string
  mqttUrl: string
  openapiUrl: string
  tenantId: string
  operatorKey: string
  box: ProvisionedBox
  /** True when this start created the data (tenant, issuer key, box). */
  firstRun: boolean
  databaseUrl: string
}

/** Saved in <dataDir>/stack.json after the first start. */
interface SavedStack {
  tenantId: string
  operatorKey: string
  box: ProvisionedBox
}

/** Defaults of the local system: ports away from a system broker (1883) and database (5432). */
export const LOCAL_DEFAULTS = {
  OPG_HTTP_PORT: '18080',
  OPG_MQTT_EMBEDDED_PORT: '18830',
  OPG_SWEEP_INTERVAL: '5s',
  OPG_VERIFY_WORKERS: '1',
  OPG_MQTT_CLIENT_ID: 'opg-bridge-local',
  // The local system and the demo take sandbox card payments: test money, never paid out.
  OPG_MODE: 'test',
} as const

export class LocalStack {
  readonly #o: LocalStackOptions
  readonly dataDir: string
  #bridge: Bridge | undefined
  #box: LocalBox | undefined
  #link: NetLink | undefined
  #sms: SmsNetwork | undefined
  #info: StackInfo | undefined
  #config: ReturnType<typeof loadConfig> | undefined
  #logger: PinoLogger | undefined

  constructor(o: LocalStackOptions) {
    this.#o = o
    this.dataDir = resolve(o.dataDir)
  }

  get bridge(): Bridge {
    if (!this.#bridge) throw new Error('stack not started')
    return this.#bridge
  }
  get box(): LocalBox {
    if (!this.#box) throw new Error('stack not started')
    return this.#box
  }
  /** The box's network link: `down()` takes the box out of coverage. */
  get link(): NetLink {
    if (!this.#link) throw new Error('stack not started')
    return this.#link
  }
  get sms(): SmsNetwork {
    if (!this.#sms) throw new Error('stack not started')
    return this.#sms
  }
  get info(): StackInfo {
    if (!this.#info) throw new Error('stack not started')
    return this.#info
  }
  /** The bridge API with the operator key. */
  get operator(): Api {
    return new Api(this.info.httpUrl, this.info.operatorKey)
  }

  /** Start the bridge, create tenant and box on first run, start the box and the SMS network. */
  async start(): Promise<StackInfo> {
    try {
      return await this.#start()
    } catch (err) {
      await this.stop()
      throw err
    }
  }

  async #start(): Promise<StackInfo> {
    const dir = this.dataDir
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const masterKeyFile = join(dir, 'master.key')
    if (!existsSync(masterKeyFile)) {
      await writeFile(masterKeyFile, `${randomBytes(16).toString('hex')}\n`, { mode: 0o600 })
      await chmod(masterKeyFile, 0o600)
    }
    const env: NodeJS.ProcessEnv = {
      ...LOCAL_DEFAULTS,
      DATABASE_URL: join(dir, 'bridge-db'),
      ...this.#o.env,
      OPG_MASTER_KEY_FILE: masterKeyFile,
    }
    const config = loadConfig({ env })
    const logger =
      this.#o.bridgeLogger ??
      createLogger(
        config.log.level,
        (await import('pino')).pino.destination({ dest: join(dir, 'bridge.log'), mkdir: true }),
      )
    this.#config = config
    this.#logger = logger
    const bridge = new Bridge({ config, logger })
    this.#bridge = bridge
    const { httpUrl, mqttUrl } = await bridge.start()

    const savedFile = join(dir, 'stack.json')
    let saved: SavedStack
    const firstRun = !existsSync(savedFile)
    if (firstRun) {
      const currency = this.#o.currency ?? 'EUR'
      const { tenant, operatorKey } = await createTenant(bridge.db, this.#o.tenantName ?? 'Local', currency)
      await initIssuer(bridge.db, { c, sealer: loadMasterKey(c, masterKeyFile) }, tenant.id)
      const box = await provisionBox({
        c,
        operator: new Api(httpUrl, operatorKey.key),
        db: bridge.db,
        tenantId: tenant.id,
        dir: join(dir, 'box'),
        merchantName: this.#o.merchantName ?? 'Corner Shop',
        currency,
        mqttUrl,
        merchantPhone: '+15550000001',
        bankAccountRef: 'DE89 3704 0044 0532 0130 00',
        modemNumber: '+15550000099',
      })
      saved = { tenantId: tenant.id, operatorKey: operatorKey.key, box }
      await writeFile(savedFile, `${JSON.stringify(saved, null, 2)}\n`, { mode: 0o600 })
    } else {
      saved = JSON.parse(await readFile(savedFile, 'utf8')) as SavedStack
    }

    this.#link = new NetLink({ target: mqttUrl })
    const linkUrl = await this.#link.start()
    this.#sms = new SmsNetwork({
      source: () => new SandboxSmsProvider({ db: this.bridge.db }).list(saved.tenantId, { limit: 200 }),
    })
    if (this.#o.startBox ?? true) {
      this.#box = new LocalBox({
        configPath: saved.box.configPath,
        mqttUrl: linkUrl,
        ...(this.#o.boxBle ? { ble: this.#o.boxBle(saved.box.deviceId) } : {}),
        ...(this.#o.boxLogger ? { log: this.#o.boxLogger } : {}),
        ...(this.#o.boxSystemTime ? { systemTime: this.#o.boxSystemTime } : {}),
      })
      await this.#box.start()
      if (saved.box.modemNumber) this.#sms.attach(saved.box.modemNumber, this.#box.modem)
    }
    await this.#sms.start()
    this.#info = {
      httpUrl,
      mqttUrl,
      openapiUrl: `${httpUrl}/openapi.json`,
      tenantId: saved.tenantId,
      operatorKey: saved.operatorKey,
      box: saved.box,
      firstRun,
      databaseUrl: config.database.url,
    }
    return this.#info
  }

  /**
   * Stop the bridge (and its embedded broker), run `whileDown` (the box keeps taking payments meanwhile),
   * and start a new bridge on the same data and settings, as after a crash or an upgrade. The box's link
   * is pointed at the new broker; `info` gets the new addresses.
   */
  async restartBridge(whileDown?: () => Promise<void>): Promise<StackInfo> {
    const info = this.info
    await this.bridge.stop()
    this.#bridge = undefined
    await whileDown?.()
    const bridge = new Bridge({ config: this.#config!, logger: this.#logger! })
    this.#bridge = bridge
    const { httpUrl, mqttUrl } = await bridge.start()
    this.link.retarget(mqttUrl)
    this.#info = { ...info, httpUrl, mqttUrl, openapiUrl: `${httpUrl}/openapi.json`, firstRun: false }
    return this.#info
  }

  /** Stop the SMS network, the box, the link and the bridge, in that order. Idempotent. */
  async stop(): Promise<void> {
    const sms = this.#sms
    this.#sms = undefined
    await sms?.stop()
    const box = this.#box
    this.#box = undefined
    await box?.stop()
    const link = this.#link
    this.#link = undefined
    await link?.stop()
    const bridge = this.#bridge
    this.#bridge = undefined
    await bridge?.stop()
    this.#info = undefined
  }
}
