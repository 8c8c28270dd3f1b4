/**
 * Sync test harness: brokers (embedded aedes, the system Mosquitto through a switchable TCP forwarder, a
 * private Mosquitto child that can be killed and restarted) and a fake bridge that opens batches with the
 * protocol's functions, books tx ids, and publishes acks — or withholds them.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net'
import {
  AckSchema,
  type Bytes,
  type Command,
  CommandSchema,
  decodeToken,
  deriveKey,
  id8ToBytes,
  isOfflineStatus,
  openMqtt,
  parseTopic,
  type Status,
  StatusSchema,
  sealMqtt,
  TxBatchSchema,
  topic,
  uuidv7,
} from '@opg/protocol'
import { Aedes } from 'aedes'
import mqtt, { type MqttClient } from 'mqtt'
import { c } from '../accept/fixtures.js'

/** A free TCP port on loopback (closed again before returning). */
export async function freePort(): Promise<number> {
  const srv = createServer()
  srv.listen(0, '127.0.0.1')
  await once(srv, 'listening')
  const port = (srv.address() as { port: number }).port
  srv.close()
  await once(srv, 'close')
  return port
}

/** A broker the test can bring up and down on a fixed port. */
export interface TestBroker {
  name: string
  port: number
  /** Where the fake bridge connects (not through anything `dropNode` breaks). */
  bridgeUrl: string
  up(): Promise<void>
  down(): Promise<void>
  /** Cut the node's TCP connection without an MQTT DISCONNECT, leaving the broker up. */
  dropNode(clientId: string): void
}

/** Embedded aedes (1.x: `Aedes.createBroker()` is async) served with node:net. */
export function aedesBroker(port: number): TestBroker {
  let server: Server | undefined
  let broker: Aedes | undefined
  const sockets = new Set<Socket>()
  return {
    name: 'aedes',
    port,
    bridgeUrl: `mqtt://127.0.0.1:${port}`,
    dropNode(clientId) {
      // aedes keeps connected clients in an untyped `clients` map.
      const clients = (broker as unknown as { clients?: Record<string, { conn?: { destroy(): void } }> })
        ?.clients
      clients?.[clientId]?.conn?.destroy()
    },
    async up() {
      broker = await Aedes.createBroker()
      server = createServer((s) => {
        sockets.add(s)
        s.on('close', () => sockets.delete(s))
        broker!.handle(s)
      })
      server.listen(port, '127.0.0.1')
      await once(server, 'listening')
    },
    async down() {
      for (const s of sockets) s.destroy()
      if (server) await new Promise<void>((r) => server!.close(() => r()))
      if (broker) await new Promise<void>((r) => broker!.close(() => r()))
      server = undefined
      broker = undefined
    },
  }
}

/** The system Mosquitto (127.0.0.1:1883) behind a forwarder on `port` that the test switches on and off. */
export function systemMosquitto(port: number): TestBroker {
  let server: Server | undefined
  const sockets = new Set<Socket>()
  return {
    name: 'mosquitto',
    port,
    bridgeUrl: 'mqtt://127.0.0.1:1883',
    dropNode() {
      for (const s of sockets) s.destroy()
    },
    async up() {
      server = createServer((inbound) => {
        const outbound = tcpConnect(1883, '127.0.0.1')
        for (const s of [inbound, outbound]) {
          sockets.add(s)
          s.on('close', () => sockets.delete(s))
          s.on('error', () => {})
        }
        inbound.pipe(outbound).pipe(inbound)
        inbound.on('close', () => outbound.destroy())
        outbound.on('close', () => inbound.destroy())
      })
      server.listen(port, '127.0.0.1')
      await once(server, 'listening')
    },
    async down() {
      for (const s of sockets) s.destroy()
      if (server) await new Promise<void>((r) => server!.close(() => r()))
      server = undefined
    },
  }
}

/** A private `mosquitto -p <port>` child, for restart tests. */
export function childMosquitto(port: number): TestBroker {
  let child: ChildProcess | undefined
  return {
    name: 'mosquitto-child',
    port,
    bridgeUrl: `mqtt://127.0.0.1:${port}`,
    dropNode() {
      throw new Error('not supported')
    },
    async up() {
      child = spawn('mosquitto', ['-p', String(port)], { stdio: 'ignore' })
      for (let i = 0; i < 100; i++) {
        const ok = await new Promise<boolean>((r) => {
          const s = tcpConnect(port, '127.0.0.1')
          s.on('connect', () => {
            s.destroy()
            r(true)
          })
          s.on('error', () => r(false))
        })
        if (ok) return
        await new Promise((r) => setTimeout(r, 50))
      }
      throw new Error('mosquitto child did not start')
    },
    async down() {
      if (!child || child.exitCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGKILL')
      await exited
      child = undefined
    },
  }
}

/**
 * Plays the bridge: opens every batch with the device's mqtt key, books each tx id, and acks the batch —
 * unless `acking` is off. Counts deliveries so tests can tell re-sends from double bookings.
 */
export class FakeBridge {
  readonly deliveries = new Map<string, number>()
  readonly booked = new Set<string>()
  readonly statuses: (Status | 'offline')[] = []
  /** The sessions named by the sealed offline statuses received. */
  readonly offlineSessions: string[] = []
  /** Unsealed "offline" bytes received (a box must never send one). */
  unsealed = 0
  acking = true
  /** Extra delay before each ack (ms). */
  ackDelayMs = 0
  readonly #keys = new Map<string, Bytes>()
  #client: MqttClient | undefined
  readonly #url: string

  constructor(url: string) {
    this.#url = url
  }

  /** Register a device's secret so its payloads can be opened. */
  addDevice(deviceId: string, deviceSecret: Bytes): void {
    this.#keys.set(deviceId, deviceKey(deviceSecret, deviceId))
  }

  async start(): Promise<void> {
    const client = await mqtt.connectAsync(this.#url, {
      clientId: `bridge-${uuidv7(c)}`,
      clean: true,
      reconnectPeriod: 100,
    })
    this.#client = client
    client.on('error', () => {})
    client.on('message', (t, payload) => void this.#onMessage(t, payload))
    // A clean session forgets subscriptions when the broker restarts: subscribe on every connect.
    client.on('connect', () => void client.subscribeAsync('opg/v1/+/+/up/#', { qos: 1 }).catch(() => {}))
    await client.subscribeAsync('opg/v1/+/+/up/#', { qos: 1 })
  }

  async stop(): Promise<void> {
    await this.#client?.endAsync(true)
    this.#client = undefined
  }

  async sendCommand(tenantId: string, deviceId: string, cmd: Command, key?: Bytes): Promise<void> {
    const t = topic(tenantId, deviceId, 'down/cmd')
    const payload = sealMqtt(c, key ?? this.#keys.get(deviceId)!, t, CommandSchema, cmd)
    await this.#client!.publishAsync(t, Buffer.from(payload), { qos: 1 })
  }

  async #onMessage(t: string, payload: Buffer): Promise<void> {
    const { tenantId, deviceId, kind } = parseTopic(t)
    const key = this.#keys.get(deviceId)
    if (!key) return
    if (kind === 'up/status') {
      // The legacy unsealed will would land in `unsealed`; a box's own will is sealed and names its session.
      if (isOfflineStatus(payload)) this.unsealed++
      else {
        const s = openMqtt(c, key, t, StatusSchema, payload)
        this.statuses.push(s.online ? s : 'offline')
        if (!s.online) this.offlineSessions.push(s.session)
      }
      return
    }
    if (kind !== 'up/tx') return
    const batch = openMqtt(c, key, t, TxBatchSchema, payload)
    const txIds = batch.records.map((r) => decodeToken(r.token).txId)
    for (const id of txIds) {
      this.deliveries.set(id, (this.deliveries.get(id) ?? 0) + 1)
      this.booked.add(id)
    }
    if (!this.acking) return
    if (this.ackDelayMs > 0) await new Promise((r) => setTimeout(r, this.ackDelayMs))
    await this.sendAck(tenantId, deviceId, batch.batch, txIds)
  }

  /** Publish an ack (sealed with the device's key unless `key` is given). */
  async sendAck(
    tenantId: string,
    deviceId: string,
    batch: string,
    accepted: string[],
    rejected: { tx: string; code: 'bad_signature' | 'replay' }[] = [],
    key?: Bytes,
  ): Promise<void> {
    const ackTopic = topic(tenantId, deviceId, 'down/ack')
    const ack = sealMqtt(c, key ?? this.#keys.get(deviceId)!, ackTopic, AckSchema, {
      v: 1,
      batch,
      accepted,
      rejected,
    })
    await this.#client?.publishAsync(ackTopic, Buffer.from(ack), { qos: 1 }).catch(() => {})
  }
}

/** The device's MQTT payload key, as both ends derive it. */
export function deviceKey(deviceSecret: Bytes, deviceId: string): Bytes {
  return deriveKey(c, deviceSecret, 'mqtt', id8ToBytes(deviceId))
}

/** Resolve when `cond()` holds, polling; reject after `ms`. */
export async function waitFor(cond: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Wipe a persistent session left on a shared broker (connect once with clean: true). */
export async function clearSession(url: string, clientId: string): Promise<void> {
  const client = await mqtt.connectAsync(url, { clientId, clean: true, reconnectPeriod: 0 })
  await client.endAsync()
}
