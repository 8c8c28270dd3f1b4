/**
 * MQTT sync: publishes sealed batches of unacked payments to up/tx and forgets nothing until a down/ack
 * names them — a PUBACK only means the broker has the bytes, not that the bridge has booked them.
 * Persistent session (clean: false, client id = device id), QoS 1 everywhere, a retained up/status with an
 * "offline" last will, reconnect with jittered exponential backoff, a window of batches in flight, and a
 * re-publish of any batch not acked in time (every record is idempotent by tx id at the bridge).
 */
import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import type { PaymentRecord, Vault } from '../vault/types.js'
import type { NodeCommand, NodeStatus, SyncCodec } from './codec.js'
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
  statusIntervalMs?: number
  reconnectMinMs?: number
  reconnectMaxMs?: number
  keepaliveS?: number
  version?: string
  /** Extra status fields gathered at publish time (free storage, modem signal). */
  statusExtras?: () => Promise<Partial<NodeStatus>> | Partial<NodeStatus>
  now?: () => number
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
  published: [info: { batchId: string; count: number; bytes: number }]
  progress: [p: SyncProgress]
  command: [cmd: NodeCommand]
  /** The bridge refused these payments (they are settled at the box; the bridge holds the reason). */
  rejected: [items: { txId: string; code: string }[]]
  warning: [err: Error]
}

interface InFlight {
  txIds: Set<string>
  /** Unset while offline: the ack clock only runs while the bridge can answer. */
  timer: NodeJS.Timeout | undefined
}

/** One engine per node; `start()` connects, `stop()` closes everything it opened. */
export class SyncEngine extends EventEmitter<SyncEvents> {
  readonly topics: NodeTopics
  readonly #o: Required<Omit<SyncOptions, 'tls' | 'statusExtras' | 'credentials'>> &
    Pick<SyncOptions, 'tls' | 'statusExtras' | 'credentials'>
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
      statusIntervalMs: 60_000,
      reconnectMinMs: 1_000,
      reconnectMaxMs: 60_000,
      keepaliveS: 30,
      version: '0.1.0',
      now: Date.now,
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
    client.on('connect', () => void this.#onConnect())
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

  async #onConnect(): Promise<void> {
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
    for (const [batchId, b] of this.#inflight) {
      b.timer ??= setTimeout(() => this.#expire(batchId), this.#o.ackTimeoutMs)
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
      clearTimeout(b.timer)
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
      await this.#onAck([...ack.accepted, ...ack.rejected.map((r) => r.txId)])
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

  async #onAck(txIds: string[]): Promise<void> {
    let settled: number
    try {
      settled = await this.#o.vault.markSynced(txIds)
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
    const timer = setTimeout(() => this.#expire(batchId), this.#o.ackTimeoutMs)
    this.#inflight.set(batchId, { txIds: new Set(txIds), timer })
    for (const id of txIds) this.#inflightTx.set(id, batchId)
    client.publish(this.topics.tx, payload, { qos: 1 }, (err) => {
      if (err && !this.#stopping)
        this.emit('warning', new SyncError('publish_failed', 'publish failed', { cause: err }))
    })
    this.emit('published', { batchId, count: txIds.length, bytes: payload.length })
  }

  /** No ack in time: release the batch's records so the next pump re-publishes them. */
  #expire(batchId: string): void {
    const batch = this.#inflight.get(batchId)
    if (!batch) return
    this.#inflight.delete(batchId)
    for (const id of batch.txIds) this.#inflightTx.delete(id)
    this.kick()
  }

  #clearInflight(): void {
    for (const b of this.#inflight.values()) clearTimeout(b.timer)
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
