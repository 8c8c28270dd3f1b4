/**
 * The MQTT side of ingest. Subscribes to every box's `up/…` topics — as the shared subscription
 * `$share/bridge/opg/v1/+/+/up/#` on an MQTT 5 broker (Mosquitto), so any number of bridge replicas split the
 * load, or as a plain subscription on the embedded aedes broker (MQTT 3.1.1, no shared subscriptions).
 *
 * Delivery guarantee: a message is PUBACKed to the broker only after the BatchProcessor's transaction
 * committed and the encrypted `down/ack` was published (and PUBACKed by the broker). The session is
 * persistent (stable client id, clean=false), so a message this replica took but never acknowledged — because
 * it crashed, or was stopped mid-batch — is delivered again when it reconnects; every step is idempotent by
 * tx id, so the re-delivery completes the work and the box gets its ack.
 */

import { setTimeout as sleep } from 'node:timers/promises'
import { bridgeSubscription } from '@opg/protocol'
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt'
import { type LinkObserver, MQTT_RECONNECT, openPublisher, watchLink } from '../fleet/mqtt-clients.js'
import { type Logger, silentLogger } from '../reconcile/reconciler.js'
import type { BatchProcessor, ProcessResult } from './processor.js'

export interface ConsumerOptions {
  url: string
  /** Stable per replica (the broker keeps this id's session and un-acked messages across restarts). */
  clientId: string
  /** 5 for Mosquitto (shared subscription), 4 for aedes (plain). Default 5. */
  protocolVersion?: 4 | 5
  /** Use the shared subscription (default: protocolVersion === 5). */
  shared?: boolean
  /** Shared-subscription group (default 'bridge'): every replica of one deployment uses the same. */
  group?: string
  /** How long the broker keeps this replica's session and un-acked messages while it is away (MQTT 5; 7 days). */
  sessionExpirySeconds?: number
  /** Parallel MQTT connections in the shared group (default 1; forced to 1 without sharing). */
  connections?: number
  /** Extra client options: credentials, TLS (ca, cert, key), keepalive… */
  mqtt?: Partial<IClientOptions>
  /** Wait between retries when processing fails for an infrastructure reason (default 1 s, doubling to 30 s). */
  retryMs?: number
  log?: Logger
  /** Told of every message handled (its ack, if any, with the broker) and how long it took from arrival. */
  observe?: (result: ProcessResult, seconds: number) => void
  /** Told when each of the consumer's connections (by client id) connects to the broker or loses it. */
  onLink?: LinkObserver
}

/** Consumes box messages and publishes acks. start()/stop() own every connection and timer. */
export class IngestConsumer {
  private clients: MqttClient[] = []
  private publisher: MqttClient | undefined
  private inflight = new Set<Promise<void>>()
  private stopping = false
  /** Aborted by stop(): cuts short the backoff sleeps of messages being retried. */
  private abort = new AbortController()
  private readonly log: Logger

  constructor(
    private readonly processor: BatchProcessor,
    private readonly opts: ConsumerOptions,
  ) {
    this.log = opts.log ?? silentLogger
  }

  /** The topic filter this replica subscribes to. */
  get subscription(): string {
    const plain = bridgeSubscription(false)
    return this.shared ? `$share/${this.opts.group ?? 'bridge'}/${plain}` : plain
  }

  private get shared(): boolean {
    return this.opts.shared ?? (this.opts.protocolVersion ?? 5) === 5
  }

  /** Connect, subscribe, and start consuming (including messages the broker kept for this session). */
  async start(): Promise<void> {
    this.stopping = false
    this.abort = new AbortController()
    // Acks go out on their own connection: a consuming connection handles one packet at a time, so it could
    // not receive the broker's PUBACK for an ack while the batch that produced it is still being handled.
    this.publisher = await openPublisher(
      this.opts.url,
      {
        connectTimeout: 10_000,
        ...this.opts.mqtt,
        clientId: `${this.opts.clientId}-pub`,
        protocolVersion: this.opts.protocolVersion ?? 5,
        clean: true,
      },
      this.log,
      this.opts.onLink,
    )
    const n = this.shared ? Math.max(1, this.opts.connections ?? 1) : 1
    try {
      for (let i = 0; i < n; i++) {
        // The first keeps the plain client id, so a replica that grows from one connection finds its session.
        this.clients.push(await this.connect(i === 0 ? this.opts.clientId : `${this.opts.clientId}-${i}`))
      }
    } catch (err) {
      await this.stop({ abort: true })
      throw err
    }
  }

  private async connect(clientId: string): Promise<MqttClient> {
    const v = this.opts.protocolVersion ?? 5
    const client = mqtt.connect(this.opts.url, {
      ...MQTT_RECONNECT,
      connectTimeout: 10_000,
      ...this.opts.mqtt,
      clientId,
      protocolVersion: v,
      clean: false,
      ...(v === 5
        ? { properties: { sessionExpiryInterval: this.opts.sessionExpirySeconds ?? 7 * 24 * 3600 } }
        : {}),
      manualConnect: true,
    })
    // Installed before connecting: messages the broker kept for this session may arrive right after CONNACK.
    client.handleMessage = (packet, done) => this.onMessage(packet, done)
    client.on('error', (err) => this.log.warn({ err, clientId }, 'mqtt client error'))
    watchLink(client, clientId, this.opts.onLink)
    client.connect()
    await new Promise<void>((resolve, reject) => {
      const ok = () => {
        client.off('error', bad)
        resolve()
      }
      const bad = (err: Error) => {
        client.off('connect', ok)
        client.end(true)
        reject(err)
      }
      client.once('connect', ok)
      client.once('error', bad)
    })
    await client.subscribeAsync(this.subscription, { qos: 1 })
    this.log.info({ clientId, subscription: this.subscription }, 'ingest consuming')
    return client
  }

  private onMessage(packet: IPublishPacket, done: (err?: Error) => void): void {
    const work = this.handle(packet).then(
      () => done(),
      (err) => {
        // Not acked: the broker re-delivers it on this session's next connection.
        this.log.warn({ err, topic: packet.topic }, 'message left un-acked')
      },
    )
    this.inflight.add(work)
    void work.finally(() => this.inflight.delete(work))
  }

  private async handle(packet: IPublishPacket): Promise<void> {
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload
    const t0 = performance.now()
    let wait = this.opts.retryMs ?? 1000
    for (;;) {
      if (this.stopping) throw new Error('stopping')
      try {
        const r = await this.processor.process(packet.topic, new Uint8Array(payload))
        if (r.kind === 'batch') {
          // Resolves on the broker's PUBACK: the ack is with the broker before the batch is acknowledged.
          await this.publisher!.publishAsync(r.ackTopic, Buffer.from(r.ackPayload), { qos: 1 })
        }
        this.opts.observe?.(r, (performance.now() - t0) / 1000)
        return
      } catch (err) {
        this.log.error({ err, topic: packet.topic }, 'ingest failed; retrying')
        await sleep(wait, undefined, { signal: this.abort.signal }).catch(() => {})
        wait = Math.min(wait * 2, 30_000)
      }
    }
  }

  /**
   * Stop: finish the messages being handled (their transactions commit and acks go out), then disconnect.
   * With `{ abort: true }` it disconnects at once, like a crash: un-acked messages wait for the next start.
   */
  async stop(opts: { abort?: boolean } = {}): Promise<void> {
    this.stopping = true
    this.abort.abort()
    const clients = this.clients
    const publisher = this.publisher
    this.clients = []
    this.publisher = undefined
    if (opts.abort) {
      await Promise.all([...clients, ...(publisher ? [publisher] : [])].map((c) => c.endAsync(true)))
      return
    }
    await Promise.allSettled([...this.inflight])
    await Promise.all(clients.map((c) => c.endAsync()))
    await publisher?.endAsync()
  }
}
