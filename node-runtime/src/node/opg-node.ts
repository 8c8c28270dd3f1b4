/**
 * The running merchant box: acceptance (camera QR and BLE) over the vault, MQTT sync to the bridge, bridge
 * commands (trusted time, revocation list, config, invoice-paid notices) and status for the CLI. Everything
 * is passed in (see open-node.ts for the real wiring); `start()` and `stop()` own every timer and listener.
 */
import {
  brokerPassword,
  brokerUsername,
  type CommandMarks,
  type CryptoBackend,
  checkCommandSeq,
  deriveKey,
  id8ToBytes,
  mergeConfigOverride,
} from '@opg/protocol'
import { type AcceptInput, type AcceptOutcome, Acceptor } from '../accept/acceptor.js'
import { blePaymentHandler } from '../accept/ble-payments.js'
import { VaultView } from '../accept/ledger.js'
import type { SignalPort } from '../accept/ports.js'
import { protocolVerifier } from '../accept/protocol-verifier.js'
import type { BleBinding } from '../bindings/ble/index.js'
import type { Gpio } from '../bindings/gpio/index.js'
import type { Modem } from '../bindings/modem/index.js'
import type { NodeConfig } from '../config/schema.js'
import { type ConfirmReport, PaidNotices, stateCounterStore } from '../confirm/index.js'
import { type NodeCommand, type NodeStatus, protocolCodec, type StatusStorage } from '../sync/codec.js'
import { SyncEngine, type SyncProgress } from '../sync/sync-engine.js'
import { nodeTopics } from '../sync/topics.js'
import type { Vault } from '../vault/types.js'
import type { ControlHandler } from './control.js'
import type { NodeIdentity } from './identity.js'
import type { StorageHealth } from './storage-health.js'

/** The parts of the trusted clock the node uses. */
export interface NodeClock {
  now(): number
  setTrusted(ms: number): Promise<void>
  readonly source: string
}

/** The node's sections of the encrypted state store (lowdb). */
export interface NodeStateDb {
  data: {
    revocations?: { version: number; wallets: string[] }
    /** Highest command seq applied per type (SPEC.md §8.1): a recorded command cannot be replayed. */
    commandMarks?: CommandMarks
    configOverrides?: Record<string, unknown>
    sync?: { lastSyncAt?: number }
    [section: string]: unknown
  }
  write(): Promise<void>
}

/** Minimal structured logger (pino's shape). */
export interface Logger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

export interface OpgNodeOptions {
  config: NodeConfig
  identity: NodeIdentity
  c: CryptoBackend
  vault: Vault
  clock: NodeClock
  state: NodeStateDb
  signal?: SignalPort
  ble?: BleBinding
  /** Receives `OPG1 PAID` SMS confirmations; its signal strength goes into the status. */
  modem?: Modem
  /** LEDs and buzzer for paid-online confirmations (payments signal through `signal`). */
  gpio?: Gpio
  log?: Logger
  version?: string
  /** Free storage bytes and modem signal for status reports. */
  statusExtras?: () => Promise<Partial<NodeStatus>> | Partial<NodeStatus>
  /** MQTT TLS material read from the config's files. */
  tls?: { ca?: Uint8Array; cert?: Uint8Array; key?: Uint8Array }
  /** What the open found wrong with storage (journal damage, rebuilt state), for status. */
  storage?: () => StorageHealth
  /**
   * How often the running node compacts synced history out of the journal (which also bounds the
   * in-memory index to the retention policy). Default 1 h; 0 turns it off.
   */
  compactEveryMs?: number
}

/** A payment the bridge refused, as status lists it. */
export interface RefusedPayment {
  txId: string
  code: string
  amount: number
  currency: string
  acceptedAt: number
}

/** What `opg-node status` prints. */
export interface NodeReport {
  deviceId: string
  running: boolean
  online: boolean
  pendingCount: number
  pendingAmount: Record<string, number>
  payments: number
  lastSyncAt?: number
  clock: { ms: number; source: string }
  revocationVersion: number
  /** Bridge commands refused as replays (seq not above the last one applied of their type) since start. */
  commandsRefused: number
  /** Paid-online confirmations (SMS or MQTT), newest first, and refusals. */
  confirmations: ConfirmReport
  /** Payments the bridge refused (newest first, at most 20) and how many in all: disputed, not lost. */
  refused: { count: number; recent: RefusedPayment[] }
  /** Payments whose frame is damaged on flash (identifiers salvaged, bytes quarantined). */
  damagedPayments: number
  /** Storage problems found at start; `alerts` empty when healthy. */
  storage: StorageHealth
  /** A config override from the bridge, stored and applied at the next start (absent when none). */
  configOverride?: Record<string, unknown>
  /** Set once the power-fail input fired: new payments are refused from `at`; `flushedAt` once all is durable. */
  powerFail?: PowerFailReport
  version: string
}

/** What the node did on the power-fail input. */
export interface PowerFailReport {
  at: number
  /** When the vault and state were flushed (absent while flushing, or if the flush failed). */
  flushedAt?: number
  error?: string
}

/** Free space on the data partition below this is reported in status (`storage.freeLow`). */
export const FREE_LOW_BYTES = 64 * 1024 * 1024

const silent: Logger = { info() {}, warn() {}, error() {} }

export class OpgNode {
  readonly acceptor: Acceptor
  readonly sync: SyncEngine
  readonly view: VaultView
  readonly notices: PaidNotices
  readonly #o: OpgNodeOptions
  readonly #log: Logger
  #started = false
  #lastSyncSaved = 0
  /** Commands are applied one at a time, in arrival order (a later time must not be overtaken by an earlier). */
  #commands: Promise<void> = Promise.resolve()
  #commandsRefused = 0
  #compactTimer: NodeJS.Timeout | undefined
  #compacting: Promise<void> | undefined
  #powerFail: PowerFailReport | undefined
  #powerFlush: Promise<void> | undefined
  #unwatchPower: (() => void) | undefined

  constructor(o: OpgNodeOptions) {
    this.#o = o
    this.#log = o.log ?? silent
    const { config, identity, c, vault, clock } = o
    this.view = new VaultView(vault)
    this.acceptor = new Acceptor({
      verifier: protocolVerifier({
        c,
        issuerKeys: identity.issuerKeys,
        merchantId: config.merchantId,
        deviceId: config.deviceId,
        encryption: identity.encryption,
        signingSecret: identity.signing.secretKey,
      }),
      vault,
      view: this.view,
      clock,
      policy: { ...config.exposure, currency: config.currency },
      ...(o.signal ? { signal: o.signal } : {}),
      onAccepted: () => this.sync.kick(),
    })
    const deviceIdBytes = id8ToBytes(config.deviceId)
    this.notices = new PaidNotices({
      c,
      smsKey: deriveKey(c, identity.deviceSecret, 'sms', deviceIdBytes),
      deviceId: config.deviceId,
      vault,
      clock,
      counters: stateCounterStore(o.state),
      ...(o.modem ? { modem: o.modem } : {}),
      ...(o.gpio ? { gpio: o.gpio } : {}),
      log: this.#log,
    })
    const topics = nodeTopics(config.tenantId, config.deviceId)
    const mqttKey = deriveKey(c, identity.deviceSecret, 'mqtt', deviceIdBytes)
    this.sync = new SyncEngine({
      url: config.mqtt.url,
      tenantId: config.tenantId,
      deviceId: config.deviceId,
      vault,
      codec: protocolCodec(c, mqttKey, topics),
      credentials: {
        username: brokerUsername(config.tenantId, config.deviceId),
        password: brokerPassword(c, identity.deviceSecret, config.deviceId),
      },
      batchSize: config.sync.batchSize,
      window: config.sync.window,
      ackTimeoutMs: config.sync.ackTimeoutMs,
      resendMaxMs: config.sync.resendMaxMs,
      statusIntervalMs: config.sync.statusIntervalMs,
      reconnectMinMs: config.sync.reconnectMinMs,
      reconnectMaxMs: config.sync.reconnectMaxMs,
      keepaliveS: config.mqtt.keepaliveS,
      version: o.version ?? '0.1.0',
      now: () => clock.now(),
      ...(o.tls ? { tls: o.tls } : {}),
      statusExtras: async () => {
        const extras = { ...(await o.statusExtras?.()), ...(await this.#modemSignal()) }
        const storage = this.#statusStorage(extras.storageBytes)
        return {
          ...extras,
          // What the bridge needs to know to send time and revocations (SPEC.md §8.1).
          clock: clockSource(clock.source),
          revocations: this.view.revocationVersion,
          ...(storage ? { storage } : {}),
        }
      },
    })
  }

  /** Restore the revocation list, start sync and (when present) BLE. */
  async start(): Promise<void> {
    if (this.#started) return
    this.#started = true
    const rev = this.#o.state.data.revocations
    if (rev) this.view.setRevoked(rev.wallets, rev.version)
    this.sync.on('command', this.#onCommand)
    this.sync.on('progress', this.#onProgress)
    this.sync.on('online', this.#onOnline)
    this.sync.on('offline', this.#onOffline)
    this.sync.on('warning', this.#onWarning)
    this.sync.on('rejected', this.#onRejected)
    this.#unwatchPower = this.#o.gpio?.onPowerFail((at) => void this.powerFail(at.getTime()))
    // The confirmation service starts before sync (an invoice_paid command may arrive at once) and before the
    // modem (SMS swept off the SIM at start must not be missed). It logs each confirmation itself.
    await this.notices.start()
    this.sync.start()
    // A box whose modem is missing still takes payments; the modem binding keeps retrying by itself.
    await this.#o.modem?.start().catch((err) => this.#log.warn({ err: String(err) }, 'modem unavailable'))
    if (this.#o.ble) {
      await this.#o.ble.start(
        blePaymentHandler({
          c: this.#o.c,
          acceptor: this.acceptor,
          signingSecret: this.#o.identity.signing.secretKey,
          cert: this.#o.identity.cert,
          receipts: this.#o.vault,
        }),
      )
    }
    const s = this.#o.vault.stats()
    this.#log.info({ pending: s.unsyncedCount, payments: s.records }, 'node started')
    for (const alert of this.#o.storage?.().alerts ?? [])
      this.#log.error({ alert }, 'STORAGE DAMAGE: operator action needed')
    const every = this.#o.compactEveryMs ?? 3_600_000
    if (every > 0) {
      this.#compactTimer = setInterval(() => void this.compactNow(), every)
      this.#compactTimer.unref()
    }
  }

  /**
   * The supply is failing (power-fail input): refuse every new payment with `power_failing`, let payments
   * already being accepted finish, then make sure everything confirmed is on flash — the high-water mark
   * caught up, the state file written — and report it (log, status). The hold-up time of a supercapacitor
   * is short: nothing here waits on the network. Called once; later calls return the same flush.
   */
  powerFail(at = Date.now()): Promise<void> {
    this.#powerFlush ??= (async () => {
      this.acceptor.suspend('the box is losing power')
      this.#powerFail = { at }
      this.#log.error({ at }, 'POWER FAIL: refusing new payments, flushing storage')
      try {
        await this.acceptor.drain()
        await this.#o.vault.settled?.()
        await this.#o.state.write()
        this.#powerFail.flushedAt = Date.now()
        this.#log.error({ at, flushedAt: this.#powerFail.flushedAt }, 'POWER FAIL: storage flushed')
      } catch (err) {
        this.#powerFail.error = String(err)
        this.#log.error({ err: String(err) }, 'POWER FAIL: flush failed')
      }
      // Tell the bridge while the link may still be up; a status that does not get out is not waited for.
      void this.sync.publishStatus().catch(() => {})
    })()
    return this.#powerFlush
  }

  /**
   * Drop synced history beyond retention from the journal and the in-memory index (refusals, unsynced and
   * damaged payments are kept). One at a time; a failure is logged and retried at the next run.
   */
  compactNow(): Promise<void> {
    this.#compacting ??= (async () => {
      try {
        const r = await this.#o.vault.compact(this.#o.clock.now())
        if (r.segmentsRemoved > 0) this.#log.info({ ...r }, 'journal compacted')
      } catch (err) {
        this.#log.warn({ err: String(err) }, 'compaction failed')
      } finally {
        this.#compacting = undefined
      }
    })()
    return this.#compacting
  }

  async stop(): Promise<void> {
    if (!this.#started) return
    this.#started = false
    clearInterval(this.#compactTimer)
    this.#unwatchPower?.()
    await this.#powerFlush
    await this.#compacting
    await this.#o.ble?.stop()
    await this.#o.modem?.stop().catch(() => {})
    await this.notices.stop()
    await this.sync.stop()
    this.sync.off('command', this.#onCommand)
    this.sync.off('progress', this.#onProgress)
    this.sync.off('online', this.#onOnline)
    this.sync.off('offline', this.#onOffline)
    this.sync.off('warning', this.#onWarning)
    this.sync.off('rejected', this.#onRejected)
    await this.#saveLastSync(true)
    this.#log.info({}, 'node stopped')
  }

  /** Accept one presentation (camera QR or a BLE token). */
  accept(input: AcceptInput): Promise<AcceptOutcome> {
    return this.acceptor.accept(input)
  }

  /** Sync now; resolves when nothing is pending. */
  syncNow(timeoutMs?: number): Promise<SyncProgress> {
    return this.sync.syncNow(timeoutMs)
  }

  report(): NodeReport {
    const s = this.#o.vault.stats()
    const lastSyncAt = this.sync.lastSyncAt ?? this.#o.state.data.sync?.lastSyncAt
    return {
      deviceId: this.#o.config.deviceId,
      running: this.#started,
      online: this.sync.online,
      pendingCount: s.unsyncedCount,
      pendingAmount: { ...s.unsyncedAmountByCurrency },
      payments: s.records,
      ...(lastSyncAt !== undefined ? { lastSyncAt } : {}),
      clock: { ms: this.#o.clock.now(), source: this.#o.clock.source },
      revocationVersion: this.view.revocationVersion,
      commandsRefused: this.#commandsRefused,
      confirmations: this.notices.report(5),
      refused: this.#refused(20),
      damagedPayments: s.damagedCount,
      storage: this.#o.storage?.() ?? { journalDamage: [], tornBytes: 0, alerts: [] },
      ...(this.#o.state.data.configOverrides ? { configOverride: this.#o.state.data.configOverrides } : {}),
      ...(this.#powerFail ? { powerFail: { ...this.#powerFail } } : {}),
      version: this.#o.version ?? '0.1.0',
    }
  }

  /** Storage health for status: what the open found, free space, the power-fail input; undefined if all is well. */
  #statusStorage(freeBytes: number | undefined): StatusStorage | undefined {
    const h = this.#o.storage?.()
    const damage = h?.journalDamage ?? []
    const lost = damage.reduce((n, d) => n + (d.confirmed ? (d.missingRecords ?? 0) : 0), 0)
    const freeLow = freeBytes !== undefined && freeBytes > 0 && freeBytes < FREE_LOW_BYTES
    const pf = this.#powerFail
    if (damage.length === 0 && !h?.stateRebuilt && !freeLow && !pf) return undefined
    return {
      quarantined: damage.length,
      ...(lost > 0 ? { lostRecords: lost } : {}),
      ...(h?.stateRebuilt ? { stateRebuilt: true } : {}),
      ...(freeLow ? { freeLow: true } : {}),
      ...(pf ? { powerFailAt: pf.at } : {}),
      ...(pf?.error !== undefined ? { powerFlushFailed: true } : {}),
    }
  }

  #refused(limit: number): NodeReport['refused'] {
    const all: RefusedPayment[] = []
    for (const p of this.#o.vault.payments()) {
      if (p.refused === undefined) continue
      all.push({
        txId: p.txId,
        code: p.refused,
        amount: p.amount,
        currency: p.currency,
        acceptedAt: p.acceptedAt,
      })
    }
    return { count: all.length, recent: all.reverse().slice(0, limit) }
  }

  readonly #onCommand = (cmd: NodeCommand): void => {
    this.#commands = this.#commands.then(() =>
      this.#handleCommand(cmd).catch((err) => this.#log.error({ err, type: cmd.type }, 'command failed')),
    )
  }

  /** Resolves once every command received so far has been applied (or refused). */
  commandsSettled(): Promise<void> {
    return this.#commands
  }

  async #handleCommand(cmd: NodeCommand): Promise<void> {
    const { state, clock } = this.#o
    // The seal says the bridge wrote it, not that it is new: refuse a seq not above the last of its type, so a
    // recorded `time` cannot roll the clock back nor a recorded `revocations` un-revoke a wallet.
    const verdict = checkCommandSeq(state.data.commandMarks ?? {}, cmd)
    if (!verdict.apply) {
      this.#commandsRefused++
      this.#log.warn(
        { type: cmd.type, seq: cmd.seq, last: verdict.last, code: 'bad_sequence' },
        'bridge command refused: replayed or out of date',
      )
      return
    }
    // The mark is durable before the effect: a crash between the two loses this command, which the bridge
    // sends again (with a new seq) at the next status, rather than letting it be replayed.
    state.data.commandMarks = verdict.marks
    if (cmd.type !== 'revocations') await state.write()
    switch (cmd.type) {
      case 'time': {
        // The spec sends unix ms; a seconds value (before 2001 as ms) is taken as seconds.
        const ms = cmd.now < 1e12 ? cmd.now * 1000 : cmd.now
        await clock.setTrusted(ms)
        this.#log.info({ ms, seq: cmd.seq }, 'trusted time set by the bridge')
        void this.sync.publishStatus()
        return
      }
      case 'revocations':
        if (this.view.setRevoked(cmd.wallets, cmd.version)) {
          state.data.revocations = { version: cmd.version, wallets: cmd.wallets }
          this.#log.info({ version: cmd.version, wallets: cmd.wallets.length }, 'revocation list updated')
        }
        // One write: the list and its mark together.
        await state.write()
        void this.sync.publishStatus()
        return
      case 'config':
        // Overrides take effect at the next start, after validation against the schema.
        state.data.configOverrides = mergeConfigOverride(state.data.configOverrides, cmd.config)
        await state.write()
        this.#log.info({ keys: Object.keys(cmd.config) }, 'config override stored for next start')
        return
      case 'invoice_paid': {
        const { ref, amount, currency, counter } = cmd
        await this.notices.handleCommand({ ref, amount, currency, counter })
        return
      }
      case 'sync_now':
        return
    }
  }

  readonly #onProgress = (p: SyncProgress): void => {
    this.#log.info({ acked: p.acked, pending: p.pendingCount }, 'bridge acknowledged payments')
    void this.#saveLastSync(false)
  }
  readonly #onOnline = (): void => this.#log.info({ url: redactUrl(this.#o.config.mqtt.url) }, 'online')
  readonly #onOffline = (reason: string): void => this.#log.warn({ reason }, 'offline')
  readonly #onWarning = (err: Error): void => this.#log.warn({ err: err.message }, 'sync warning')
  readonly #onRejected = (items: { txId: string; code: string }[]): void =>
    this.#log.warn({ items }, 'bridge refused payments')

  /** The modem's received power for the status, when a modem answers. */
  async #modemSignal(): Promise<{ signal?: number }> {
    if (!this.#o.modem) return {}
    try {
      const { dbm } = await this.#o.modem.signalQuality()
      return dbm === null ? {} : { signal: Math.max(-150, Math.min(0, Math.round(dbm))) }
    } catch {
      return {}
    }
  }

  /** Persist the last sync time, at most every 5 s (status reads it when no node runs). */
  async #saveLastSync(force: boolean): Promise<void> {
    const at = this.sync.lastSyncAt
    if (at === undefined) return
    const now = Date.now()
    if (!force && now - this.#lastSyncSaved < 5_000) return
    this.#lastSyncSaved = now
    this.#o.state.data.sync = { ...(this.#o.state.data.sync ?? {}), lastSyncAt: at }
    await this.#o.state.write().catch((err) => this.#log.warn({ err: String(err) }, 'state write failed'))
  }
}

function clockSource(s: string): 'trusted' | 'carried' | 'unsynced' {
  return s === 'trusted' || s === 'carried' ? s : 'unsynced'
}

function redactUrl(url: string): string {
  const u = new URL(url)
  if (u.password) u.password = 'redacted'
  return u.toString()
}

/** The control-socket handler for a running node: status, sync with progress events, accept a QR text. */
export function nodeControlHandler(node: OpgNode): ControlHandler {
  return {
    async handle(req, emit) {
      switch (req.cmd) {
        case 'status':
          return node.report()
        case 'sync': {
          const onProgress = (p: SyncProgress) => emit({ ...p })
          const onPublished = (p: { count: number }) => emit({ published: p.count })
          node.sync.on('progress', onProgress)
          node.sync.on('published', onPublished)
          try {
            return await node.syncNow(req.timeoutMs)
          } finally {
            node.sync.off('progress', onProgress)
            node.sync.off('published', onPublished)
          }
        }
        case 'accept':
          return node.accept({ qrText: req.qrText })
      }
    },
  }
}
