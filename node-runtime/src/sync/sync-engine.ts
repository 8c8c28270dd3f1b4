/**
 * MQTT sync: publishes sealed batches of unacked payments to up/tx and forgets nothing until a down/ack
 * names them — a PUBACK only means the broker has the bytes, not that the bridge has booked them.
 * Persistent session (clean: false, client id = device id), QoS 1 everywhere, a retained up/status with an
 * "offline" last will, reconnect with jittered exponential backoff, a window of batches in flight, and a
 * re-send of any batch not acked in time — same batch id and bytes, after a wait that doubles up to a cap
 * (resend-backoff.ts), so a bridge that is down costs a paid link a few sends an hour, not a storm.
 */
import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import type { PaymentRecord, Vault } from '../vault/types.js'
import type { NodeCommand, NodeStatus, SyncCodec } from './codec.js'
import { ackWaitMs } from './resend-backoff.js'
import { SyncError, withTimeout } from './sync-error.js'
import { type NodeTopics, nodeTopics } from './topics.js'

export interface SyncOptions {
  url: string
  tenantId: string
  deviceId: string
  vault: Vault
  /** Usually protocolCodec(c, mqttKey, nodeTopics(tenantId, deviceId)). */
  codec: SyncCodec
  /** The broker login (brokerUsername / brokerPassword of @opg/protocol); unneeded with a client certificate. */
  credentials?: { username: string; password: string }
  /** TLS material for mqtts:// (PEM). */
  tls?: { ca?: Uint8Array; cert?: Uint8Array; key?: Uint8Array }
  batchSize?: number
  window?: number
  ackTimeoutMs?: number
  /** Cap of the doubling wait between re-sends of an unacked batch (default 10 min). */
  resendMaxMs?: number
  statusIntervalMs?: number
  reconnectMinMs?: number
  reconnectMaxMs?: number
  keepaliveS?: number
  version?: string
  /** Extra status fields gathered at publish time (free storage, modem signal). */
  statusExtras?: () => Promise<Partial<NodeStatus>> | Partial<NodeStatus>
  now?: () => number
  /** Jitter source of the re-send waits (tests pin it). */
  random?: () => number
  /** Timers of the ack waits (a benchmark runs them on simulated time). */
  timers?: SyncTimers
}

/** setTimeout/clearTimeout, injectable. */
export interface SyncTimers {
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

/** Progress of draining the backlog; the CLI prints these. */
export interface SyncProgress {
  /** Payments the bridge acknowledged in this step. */
  acked: number
  /** Payments acknowledged since this engine started. */
  ackedTotal: number
  pendingCount: number
  /** Unacked amounts by currency. */
  pendingAmount: Record<string, number>
}

export interface SyncEvents {
  online: []
  offline: [reason: string]
  /** A batch went out; `attempt` 0 is its first send, higher ones re-sends of the same id and bytes. */
  published: [info: { batchId: string; count: number; bytes: number; attempt: number }]
  progress: [p: SyncProgress]
  command: [cmd: NodeCommand]
  /** The bridge refused these payments (journaled on the box as refused, with the code). */
  rejected: [items: { txId: string; code: string }[]]
  warning: [err: Error]
}

interface InFlight {
  txIds: Set<string>
  /** Unset while offline: the ack clock only runs while the bridge can answer. */
  timer: NodeJS.Timeout | undefined
  /** Sends so far minus one; picks the next wait. */
  attempt: number
  /** The sealed batch, re-sent as is (same batch id: the bridge sees a re-delivery, not a new batch). */
  payload: Buffer
}

/** One engine per node; `start()` connects, `stop()` closes everything it opened. */
export class SyncEngine extends EventEmitter<SyncEvents> {
  readonly topics: NodeTopics
  readonly #o: Required<Omit<SyncOptions, 'tls' | 'statusExtras' | 'credentials'>> &
    Pick<SyncOptions, 'tls' | 'statusExtras' | 'credentials'>
  /** Re-sends of unacked batches since start. */
  resends = 0
  #client: MqttClient | undefined
  #connected = false
  #stopping = false
  #backoffMs: number
  #reconnectTimer: NodeJS.Timeout | undefined
  #statusTimer: NodeJS.Timeout | undefined
  readonly #inflight = new Map<string, InFlight>()
  readonly #inflightTx = new Map<string, string>()
  #ackedTotal = 0
  #lastSyncAt: number | undefined
  #pumping = false
  #pumpAgain = false
  /** Rejecters of syncNow() calls still waiting, so stop() can end them. */
  readonly #waiters = new Set<(err: Error) => void>()

  constructor(options: SyncOptions) {
    super()
    this.#o = {
      batchSize: 200,
      window: 8,
      ackTimeoutMs: 15_000,
      resendMaxMs: 600_000,
      statusIntervalMs: 60_000,
      reconnectMinMs: 1_000,
      reconnectMaxMs: 60_000,
      keepaliveS: 30,
      version: '0.1.0',
      now: Date.now,
      random: Math.random,
      timers: {
        setTimeout: (fn, ms) => setTimeout(fn, ms),
        clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
      },
      ...options,
    }
    this.topics = nodeTopics(options.tenantId, options.deviceId)
    this.#backoffMs = this.#o.reconnectMinMs
  }

  get online(): boolean {
    return this.#connected
  }
  get lastSyncAt(): number | undefined {
    return this.#lastSyncAt
  }

  /** Connect (and keep reconnecting) in the background; resolves at once. */
  start(): void {
    if (this.#client) return
    this.#stopping = false
    const o = this.#o
    const options: IClientOptions = {
      clientId: o.deviceId,
      clean: false,
      protocolVersion: 4,
      keepalive: o.keepaliveS,
      connectTimeout: 10_000,
      // Reconnection is ours (backoff); mqtt.js's fixed-period timer would hammer a recovering broker.
      reconnectPeriod: 0,
      manualConnect: true,
      // mqtt-packet otherwise builds a cache of 65,536 two-byte Buffers for packet ids and lengths on the
      // first write: ~6 MB of the box's heap to save an allocation per packet at a few packets a second.
      writeCache: false,
      will: {
        topic: this.topics.status,
        payload: Buffer.from(o.codec.sealStatus(undefined)),
        qos: 1,
        retain: true,
      },
    }
    if (o.credentials) {
      options.username = o.credentials.username
      options.password = o.credentials.password
    }
    if (o.tls?.ca) options.ca = Buffer.from(o.tls.ca)
    if (o.tls?.cert) options.cert = Buffer.from(o.tls.cert)
    if (o.tls?.key) options.key = Buffer.from(o.tls.key)
    if (o.url.startsWith('mqtts:') || o.url.startsWith('wss:')) options.rejectUnauthorized = true
    const client = mqtt.connect(o.url, options)
    this.#client = client
    client.on('connect', (connack) => void this.#onConnect(connack.sessionPresent === true))
    client.on('close', () => this.#onClose())
    client.on('error', (err) => this.emit('warning', err))
    client.on('message', (topic, payload) => void this.#onMessage(topic, payload))
    this.#statusTimer = setInterval(() => void this.publishStatus(), o.statusIntervalMs)
    client.connect()
  }

  /** Publish a final retained "offline" status when connected, then disconnect and clear every timer. */
  async stop(): Promise<void> {
    this.#stopping = true
    for (const reject of this.#waiters) reject(new SyncError('stopped', 'sync stopped'))
    clearTimeout(this.#reconnectTimer)
    clearInterval(this.#statusTimer)
    this.#clearInflight()
    const client = this.#client
    this.#client = undefined
    if (!client) return
    if (this.#connected) {
      try {
        const payload = Buffer.from(this.#o.codec.sealStatus(undefined))
        await withTimeout(client.publishAsync(this.topics.status, payload, { qos: 1, retain: true }), 2_000)
      } catch {
        // Best effort: the broker's last will says the same thing.
      }
    }
    // A clean DISCONNECT when the broker answers; a dead link is simply dropped.
    try {
      await withTimeout(client.endAsync(!this.#connected), 2_000)
    } catch {
      await client.endAsync(true).catch(() => {})
    }
    this.#connected = false
    client.removeAllListeners()
    client.on('error', () => {})
  }

  /** Resolve once nothing is pending; reject with SyncError 'timeout' after `timeoutMs`, 'stopped' on stop(). */
  syncNow(timeoutMs = 60_000): Promise<SyncProgress> {
    this.kick()
    const snapshot = (): SyncProgress => ({
      acked: 0,
      ackedTotal: this.#ackedTotal,
      ...this.#pendingFigures(),
    })
    if (this.#o.vault.stats().unsyncedCount === 0) return Promise.resolve(snapshot())
    return new Promise((resolve, reject) => {
      const onProgress = (p: SyncProgress) => {
        if (p.pendingCount > 0) return
        cleanup()
        resolve(p)
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new SyncError('timeout', `sync did not finish in ${timeoutMs} ms`))
      }, timeoutMs)
      const onStop = (err: Error) => {
        cleanup()
        reject(err)
      }
      const cleanup = () => {
        clearTimeout(timer)
        this.off('progress', onProgress)
        this.#waiters.delete(onStop)
      }
      this.on('progress', onProgress)
      this.#waiters.add(onStop)
    })
  }

  /** Publish the retained status now (also done every statusIntervalMs). */
  async publishStatus(): Promise<void> {
    const client = this.#client
    if (!client || !this.#connected) return
    try {
      const extras = (await this.#o.statusExtras?.()) ?? {}
      const payload = Buffer.from(this.#o.codec.sealStatus({ ...this.#statusSnapshot(), ...extras }))
      await client.publishAsync(this.topics.status, payload, { qos: 1, retain: true })
    } catch (err) {
      this.emit('warning', err instanceof Error ? err : new Error(String(err)))
    }
  }

  async #onConnect(sessionPresent: boolean): Promise<void> {
    const client = this.#client
    if (!client) return
    this.#backoffMs = this.#o.reconnectMinMs
    try {
      await client.subscribeAsync({ [this.topics.ack]: { qos: 1 }, [this.topics.cmd]: { qos: 1 } })
    } catch (err) {
      // Without the ack subscription nothing could ever be settled: drop the link and let backoff retry.
      this.emit('warning', new SyncError('publish_failed', 'subscribe failed', { cause: err }))
      client.stream?.destroy()
      return
    }
    if (this.#client !== client || !client.connected) return
    this.#connected = true
    // With its session kept, the broker still queues what it PUBACKed and mqtt.js re-sends the rest: the ack
    // clocks resume where the backoff was. A broker that lost the session (restarted without persistence)
    // lost those copies too: send every batch in flight again now, same ids, and start its backoff over.
    for (const [batchId, b] of this.#inflight) {
      if (sessionPresent) {
        b.timer ??= this.#armAck(batchId, b.attempt)
      } else {
        this.#o.timers.clearTimeout(b.timer)
        b.attempt = 0
        this.#send(client, batchId, b)
      }
    }
    this.emit('online')
    void this.publishStatus()
    this.kick()
  }

  #onClose(): void {
    // A stale stream may close while a newer one is up; mqtt.js has then already marked the client
    // disconnected, so drop the newer one too. The reconnect below (guarded against live streams) makes
    // exactly one new stream: two live streams with one client id would take each other's session over at
    // the broker, forever.
    const current = this.#client?.stream
    if (current && !current.destroyed) current.destroy()
    const wasConnected = this.#connected
    this.#connected = false
    // Batches in flight stay in flight: mqtt.js keeps them in its outgoing store and re-sends them after
    // the reconnect (same session stores), so only their ack timers pause.
    for (const b of this.#inflight.values()) {
      this.#o.timers.clearTimeout(b.timer)
      b.timer = undefined
    }
    if (wasConnected) this.emit('offline', 'connection closed')
    if (this.#stopping || !this.#client) return
    clearTimeout(this.#reconnectTimer)
    const delay = Math.round(this.#backoffMs * (0.5 + Math.random() / 2))
    this.#backoffMs = Math.min(this.#o.reconnectMaxMs, this.#backoffMs * 2)
    this.#reconnectTimer = setTimeout(() => {
      const client = this.#client
      if (this.#stopping || !client) return
      if (client.connected || (client.stream && !client.stream.destroyed)) return
      client.reconnect({ incomingStore: client.incomingStore, outgoingStore: client.outgoingStore })
    }, delay)
  }

  async #onMessage(topic: string, payload: Buffer): Promise<void> {
    if (topic === this.topics.ack) {
      let ack: ReturnType<SyncCodec['openAck']>
      try {
        ack = this.#o.codec.openAck(payload)
      } catch (err) {
        this.emit('warning', new SyncError('bad_message', 'unreadable ack ignored', { cause: err }))
        return
      }
      if (ack.rejected.length > 0) this.emit('rejected', ack.rejected)
      await this.#onAck(ack.accepted, ack.rejected)
    } else if (topic === this.topics.cmd) {
      let cmd: NodeCommand
      try {
        cmd = this.#o.codec.openCmd(payload)
      } catch (err) {
        this.emit('warning', new SyncError('bad_message', 'unreadable command ignored', { cause: err }))
        return
      }
      if (cmd.type === 'sync_now') {
        this.kick()
        void this.publishStatus()
      }
      this.emit('command', cmd)
    }
  }

  /**
   * Journal the ack: booked payments as synced, refused ones with the bridge's code. A refusal is never
   * treated as success: the payment stays on the box, shown as refused, with its receipt.
   */
  async #onAck(accepted: string[], rejected: { txId: string; code: string }[]): Promise<void> {
    const txIds = [...accepted, ...rejected.map((r) => r.txId)]
    let settled: number
    try {
      const [booked, refused] = await Promise.all([
        this.#o.vault.markSynced(accepted),
        this.#o.vault.markRefused(rejected),
      ])
      settled = booked + refused
    } catch (err) {
      // Not recorded as synced: the batch will be re-sent and acked again.
      this.emit('warning', new SyncError('bad_message', 'could not record ack', { cause: err }))
      return
    }
    for (const txId of txIds) {
      const batchId = this.#inflightTx.get(txId)
      if (batchId === undefined) continue
      this.#inflightTx.delete(txId)
      const batch = this.#inflight.get(batchId)
      batch?.txIds.delete(txId)
      if (batch && batch.txIds.size === 0) {
        clearTimeout(batch.timer)
        this.#inflight.delete(batchId)
      }
    }
    if (settled > 0) {
      this.#ackedTotal += settled
      this.#lastSyncAt = this.#o.now()
      this.emit('progress', { acked: settled, ackedTotal: this.#ackedTotal, ...this.#pendingFigures() })
    }
    this.kick()
  }

  /** Publish whatever is pending and not in flight (call after a payment is accepted). */
  kick(): void {
    if (this.#pumping) {
      this.#pumpAgain = true
      return
    }
    this.#pumping = true
    void this.#pump()
      .catch((err) => this.emit('warning', err instanceof Error ? err : new Error(String(err))))
      .finally(() => {
        this.#pumping = false
        if (this.#pumpAgain) {
          this.#pumpAgain = false
          this.kick()
        }
      })
  }

  /** Fill the window with batches of unacked payments not already in flight. */
  async #pump(): Promise<void> {
    const { window, batchSize, vault } = this.#o
    while (this.#client && this.#connected && this.#inflight.size < window) {
      // Choose from the in-memory summaries (journal order = oldest first), then read only those records.
      const want = (window - this.#inflight.size) * batchSize
      const ids: string[] = []
      for (const s of vault.payments()) {
        if (ids.length >= want) break
        if (!s.synced && !this.#inflightTx.has(s.txId)) ids.push(s.txId)
      }
      if (ids.length === 0) return
      const records = (await Promise.all(ids.map((id) => vault.get(id)))).filter(
        // An ack may have settled some of them while the records were read.
        (r): r is PaymentRecord => r !== undefined && vault.summary(r.txId)?.synced === false,
      )
      const client = this.#client
      if (!client || !this.#connected) return
      const fresh = records.filter((r) => !this.#inflightTx.has(r.txId))
      if (fresh.length === 0) return
      for (let i = 0; i < fresh.length && this.#inflight.size < window; i += batchSize) {
        this.#publish(client, fresh.slice(i, i + batchSize))
      }
    }
  }

  #publish(client: MqttClient, records: PaymentRecord[]): void {
    const batchId = randomUUID()
    const txIds = records.map((r) => r.txId)
    const payload = Buffer.from(this.#o.codec.sealBatch(batchId, records))
    const batch: InFlight = { txIds: new Set(txIds), timer: undefined, attempt: 0, payload }
    this.#inflight.set(batchId, batch)
    for (const id of txIds) this.#inflightTx.set(id, batchId)
    this.#send(client, batchId, batch)
  }

  #send(client: MqttClient, batchId: string, batch: InFlight): void {
    batch.timer = this.#armAck(batchId, batch.attempt)
    client.publish(this.topics.tx, batch.payload, { qos: 1 }, (err) => {
      if (err && !this.#stopping)
        this.emit('warning', new SyncError('publish_failed', 'publish failed', { cause: err }))
    })
    this.emit('published', {
      batchId,
      count: batch.txIds.size,
      bytes: batch.payload.length,
      attempt: batch.attempt,
    })
  }

  #armAck(batchId: string, attempt: number): NodeJS.Timeout {
    const policy = { ackTimeoutMs: this.#o.ackTimeoutMs, maxMs: this.#o.resendMaxMs }
    const wait = ackWaitMs(attempt, policy, this.#o.random)
    // Injected timers return their own handles; clearing one with the global clearTimeout is a no-op and a
    // late expiry of a settled batch finds nothing to do.
    return this.#o.timers.setTimeout(() => this.#expire(batchId), wait) as NodeJS.Timeout
  }

  /**
   * No ack in time: send the same batch again (same id, same bytes) and wait twice as long, up to the cap.
   * While offline nothing is sent: the ack clock resumes on reconnect, and the MQTT session re-sends any
   * publish the broker never acknowledged.
   */
  #expire(batchId: string): void {
    const batch = this.#inflight.get(batchId)
    if (!batch) return
    batch.timer = undefined
    const client = this.#client
    if (!client || !this.#connected) return
    batch.attempt++
    this.resends++
    this.#send(client, batchId, batch)
  }

  #clearInflight(): void {
    for (const b of this.#inflight.values()) this.#o.timers.clearTimeout(b.timer)
    this.#inflight.clear()
    this.#inflightTx.clear()
  }

  #pendingFigures(): { pendingCount: number; pendingAmount: Record<string, number> } {
    const s = this.#o.vault.stats()
    return { pendingCount: s.unsyncedCount, pendingAmount: { ...s.unsyncedAmountByCurrency } }
  }

  #statusSnapshot(): NodeStatus {
    return { ...this.#pendingFigures(), storageBytes: 0, version: this.#o.version, at: this.#o.now() }
  }
}
