// Ingest test harness: a merchant box that speaks the real MQTT wire format, a registered device row, and a
// bridge (processor + consumer) wired to a test database.
import { randomBytes } from 'node:crypto'
import {
  type Ack,
  AckSchema,
  brokerPassword,
  brokerUsername,
  deriveKey,
  id8ToBytes,
  newId8,
  openMqtt,
  type PaymentToken,
  StatusSchema,
  sealMqtt,
  TxBatchSchema,
  topic,
  uuidv7,
} from '@opg/protocol'
import mqtt, { type MqttClient } from 'mqtt'
import type { Db } from '../../src/db/index.js'
import { sqlDeviceDirectory } from '../../src/ingest/adapters.js'
import { type ConsumerOptions, IngestConsumer } from '../../src/ingest/consumer.js'
import type { KeyringSource } from '../../src/ingest/ports.js'
import { BatchProcessor } from '../../src/ingest/processor.js'
import { ledgerPort, smsOutboxNotifier, walletsTableFreezer } from '../../src/reconcile/adapters.js'
import type { TransactionRunner } from '../../src/reconcile/ports.js'
import { Reconciler } from '../../src/reconcile/reconciler.js'
import type { TokenVerifier } from '../../src/verify/pool.js'
import { c, type Issuer } from '../verify/fixtures.js'

/** Register a box of the merchant; the "sealed" secret is stored as 12 zero bytes + secret (unseal slices). */
export async function registerBox(db: Db, tenantId: string, merchantId: string) {
  const deviceId = newId8(c)
  const secret = new Uint8Array(randomBytes(16))
  const sealed = Buffer.concat([Buffer.alloc(12), Buffer.from(secret), Buffer.alloc(16)])
  await db.query('INSERT INTO devices (tenant_id, id, merchant_id, sealed_secret) VALUES ($1, $2, $3, $4)', [
    tenantId,
    deviceId,
    merchantId,
    sealed,
  ])
  return { tenantId, deviceId, merchantId, secret }
}

export const testUnseal = (sealed: Uint8Array) => sealed.slice(12, 28)

/** A merchant box on MQTT: publishes sealed batches and collects the acks it can open. */
export class Box {
  readonly key: Uint8Array
  readonly acks: Ack[] = []
  private client: MqttClient | undefined
  private waiters: (() => void)[] = []

  constructor(
    readonly dev: { tenantId: string; deviceId: string; merchantId: string; secret: Uint8Array },
    private readonly url: string,
    private readonly protocolVersion: 4 | 5,
    /** The embedded broker binds a box's client id to its device id; the shared system broker does not. */
    private readonly clientId = `box-${dev.deviceId}-${randomBytes(3).toString('hex')}`,
  ) {
    this.key = deriveKey(c, dev.secret, 'mqtt', id8ToBytes(dev.deviceId))
  }

  topic(kind: 'up/tx' | 'up/status' | 'down/ack'): string {
    return topic(this.dev.tenantId, this.dev.deviceId, kind)
  }

  async start(): Promise<void> {
    const client = await mqtt.connectAsync(this.url, {
      clientId: this.clientId,
      username: brokerUsername(this.dev.tenantId, this.dev.deviceId),
      password: brokerPassword(c, this.dev.secret, this.dev.deviceId),
      protocolVersion: this.protocolVersion,
      reconnectPeriod: 200,
    })
    client.on('message', (t, payload) => {
      try {
        this.acks.push(openMqtt(c, this.key, t, AckSchema, new Uint8Array(payload)))
      } catch {
        // An ack this box cannot open is ignored, as the real box does.
      }
      for (const w of this.waiters.splice(0)) w()
    })
    await client.subscribeAsync(this.topic('down/ack'), { qos: 1 })
    this.client = client
  }

  async stop(): Promise<void> {
    await this.client?.endAsync()
  }

  /** Seal a batch of tokens for this box's up/tx topic. */
  seal(tokens: PaymentToken[], batchId: string = uuidv7(c)): Uint8Array {
    return sealMqtt(c, this.key, this.topic('up/tx'), TxBatchSchema, {
      v: 1,
      batch: batchId,
      records: tokens.map((t) => ({
        token: t.bytes,
        receipt: new Uint8Array(64),
        channel: 'qr' as const,
        acceptedAt: Date.now(),
      })),
    })
  }

  async publish(topicName: string, payload: Uint8Array): Promise<void> {
    await this.client!.publishAsync(topicName, Buffer.from(payload), { qos: 1 })
  }

  async send(tokens: PaymentToken[], batchId?: string): Promise<string> {
    const id = batchId ?? uuidv7(c)
    await this.publish(this.topic('up/tx'), this.seal(tokens, id))
    return id
  }

  /** A sealed online status of `session`. */
  async sendStatus(pending: number, session = 'a1a1a1a1a1a1a1a1'): Promise<void> {
    const payload = sealMqtt(c, this.key, this.topic('up/status'), StatusSchema, {
      v: 1,
      online: true,
      session,
      at: Math.floor(Date.now() / 1000),
      pending,
      pendingAmount: { EUR: pending * 100 },
      storageBytes: 4096,
      version: '0.1.0',
    })
    await this.publish(this.topic('up/status'), payload)
  }

  /** The sealed last will of `session`. */
  async sendOffline(session: string): Promise<void> {
    const t = this.topic('up/status')
    await this.publish(t, sealMqtt(c, this.key, t, StatusSchema, { v: 1, online: false, session }))
  }

  /** Wait until `n` acks for batch `id` arrived (bounded). */
  async waitAck(id: string, n = 1, timeoutMs = 30_000): Promise<Ack> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const got = this.acks.filter((a) => a.batch === id)
      if (got.length >= n) return got[got.length - 1]!
      if (Date.now() > deadline) throw new Error(`no ack for batch ${id}`)
      await new Promise<void>((r) => {
        const timer = setTimeout(r, 200)
        this.waiters.push(() => {
          clearTimeout(timer)
          r()
        })
      })
    }
  }
}

const testLog = process.env.OPG_TEST_LOG
  ? {
      info: (o: object, m?: string) => console.error('info', m, o),
      warn: (o: object, m?: string) => console.error('warn', m, o),
      error: (o: object, m?: string) => console.error('error', m, o),
    }
  : undefined

/** A bridge replica: reconciler + processor + consumer on one database handle. */
export class TestBridge {
  readonly reconciler: Reconciler
  readonly processor: BatchProcessor
  readonly consumer: IngestConsumer

  constructor(
    db: Db | (TransactionRunner & Db),
    verifier: TokenVerifier,
    keyrings: KeyringSource,
    consumer: ConsumerOptions,
  ) {
    this.reconciler = new Reconciler({
      db,
      ledger: ledgerPort(),
      notifier: smsOutboxNotifier(),
      wallets: walletsTableFreezer(),
    })
    this.processor = new BatchProcessor({
      db,
      reconciler: this.reconciler,
      verifier,
      devices: sqlDeviceDirectory(db, testUnseal),
      keyrings,
    })
    this.consumer = new IngestConsumer(this.processor, {
      sessionExpirySeconds: 120,
      log: testLog,
      ...consumer,
    })
  }
}

/** A keyring source over one test issuer per tenant. */
export function staticKeyrings(byTenant: Map<string, Issuer>): KeyringSource {
  return {
    async keyring(tenantId) {
      return byTenant.get(tenantId)?.keyring ?? new Map()
    },
  }
}
