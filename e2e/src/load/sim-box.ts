/**
 * One simulated merchant box of the fleet load test: the real wire protocol without the box runtime — its
 * own MQTT session (the broker credentials a box derives from its device secret), batches of real signed
 * tokens sealed with its MQTT key, sealed status messages, and the acks it can open, each timed from the
 * publish of its batch.
 */
import { randomBytes } from 'node:crypto'
import {
  AckSchema,
  brokerPassword,
  brokerUsername,
  deriveKey,
  id8ToBytes,
  openMqtt,
  type PaymentToken,
  StatusSchema,
  sealMqtt,
  TxBatchSchema,
  topic,
  uuidv7,
} from '@opg/protocol'
import { nodeBackend as c } from '@opg/protocol/node'
import mqtt, { type MqttClient } from 'mqtt'

/** What the bridge's enrolment API gave a box. */
export interface EnrolledBox {
  tenantId: string
  merchantId: string
  deviceId: string
  /** The device secret (hex), shown once at enrolment. */
  secret: Uint8Array
}

/** An ack as the box saw it: the batch, what it accepted, and the time from publish to ack. */
export interface SeenAck {
  batch: string
  accepted: string[]
  rejected: number
  latencyMs: number
}

export class SimBox {
  readonly key: Uint8Array
  readonly acks: SeenAck[] = []
  readonly #sentAt = new Map<string, number>()
  #client: MqttClient | undefined
  readonly #session = randomBytes(8).toString('hex')

  constructor(
    readonly dev: EnrolledBox,
    readonly url: string,
  ) {
    this.key = deriveKey(c, dev.secret, 'mqtt', id8ToBytes(dev.deviceId))
  }

  topic(kind: 'up/tx' | 'up/status' | 'down/ack'): string {
    return topic(this.dev.tenantId, this.dev.deviceId, kind)
  }

  get connected(): boolean {
    return this.#client?.connected ?? false
  }

  /** Open the MQTT session (persistent, as a box's is) and subscribe to its acks. */
  async connect(): Promise<void> {
    const client = await mqtt.connectAsync(this.url, {
      clientId: `box-${this.dev.deviceId}`,
      username: brokerUsername(this.dev.tenantId, this.dev.deviceId),
      password: brokerPassword(c, this.dev.secret, this.dev.deviceId),
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
      reconnectPeriod: 500,
      connectTimeout: 30_000,
    })
    client.on('message', (t, payload) => {
      try {
        const ack = openMqtt(c, this.key, t, AckSchema, new Uint8Array(payload))
        const at = this.#sentAt.get(ack.batch)
        this.acks.push({
          batch: ack.batch,
          accepted: ack.accepted,
          rejected: ack.rejected.length,
          latencyMs: at === undefined ? Number.NaN : performance.now() - at,
        })
      } catch {
        // An ack this box cannot open is ignored, as the real box does.
      }
    })
    await client.subscribeAsync(this.topic('down/ack'), { qos: 1 })
    this.#client = client
  }

  /** Drop the session without a goodbye (an outage); `connect` again resumes it. */
  async drop(): Promise<void> {
    const client = this.#client
    this.#client = undefined
    await client?.endAsync(true)
  }

  async close(): Promise<void> {
    await this.#client?.endAsync()
    this.#client = undefined
  }

  /** Batches sent again after an ack timeout, as the box does. */
  resends = 0

  /** Seal and publish one batch of tokens (QoS 1); returns its id. `batch`: send that batch again. */
  async sendBatch(tokens: PaymentToken[], batch = uuidv7(c)): Promise<string> {
    if (this.#sentAt.has(batch)) this.resends++
    const payload = sealMqtt(c, this.key, this.topic('up/tx'), TxBatchSchema, {
      v: 1,
      batch,
      records: tokens.map((t) => ({
        token: t.bytes,
        receipt: new Uint8Array(64),
        channel: 'qr' as const,
        acceptedAt: Date.now(),
      })),
    })
    if (!this.#sentAt.has(batch)) this.#sentAt.set(batch, performance.now())
    await this.#client!.publishAsync(this.topic('up/tx'), Buffer.from(payload), { qos: 1 })
    return batch
  }

  /** Seal and publish an online status (QoS 1). */
  async sendStatus(pending: number): Promise<void> {
    const t = this.topic('up/status')
    const payload = sealMqtt(c, this.key, t, StatusSchema, {
      v: 1,
      online: true,
      session: this.#session,
      at: Math.floor(Date.now() / 1000),
      pending,
      pendingAmount: { EUR: pending * 100 },
      storageBytes: 4096,
      version: '0.1.0',
    })
    await this.#client!.publishAsync(t, Buffer.from(payload), { qos: 1 })
  }

  /** Whether batch `id` has been acked. */
  acked(id: string): boolean {
    return this.acks.some((a) => a.batch === id)
  }
}
