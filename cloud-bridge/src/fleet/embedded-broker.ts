/**
 * The embedded MQTT broker: aedes in-process on a TCP (or TLS) port, used when no MQTT_URL is configured (demos,
 * a single small bridge). Production uses Mosquitto or an MQTT cluster; the consumer cannot tell the
 * difference. The default port (18830) never collides with a system broker on 1883.
 *
 * It is locked like the production broker: every client authenticates (BrokerGate), client ids are bound to
 * identities (no session takeover), publishes and subscriptions follow broker-acl.ts, and a box revoked (or
 * whose tenant is suspended) while connected is disconnected at the next sweep. Because the broker is the
 * bridge's own, its view of who is connected is the box's online/offline signal (`onPresence`): nothing a
 * client publishes can mark another box offline.
 */
import { type AddressInfo, createServer, type Server } from 'node:net'
import { createServer as createTlsServer } from 'node:tls'
import { Aedes, type AuthenticateError, type Client } from 'aedes'
import { type BrokerIdentity, mayPublish, maySubscribe } from './broker-acl.js'
import type { BrokerGate } from './broker-gate.js'

/** A box connected or went away, as the broker saw it. */
export interface PresenceEvent {
  tenantId: string
  deviceId: string
  online: boolean
}

/** Where the embedded broker listens, and who may use it. */
export interface EmbeddedBrokerOptions {
  host: string
  /** Port 0 picks a free port (tests). */
  port: number
  gate: BrokerGate
  /** PEM certificate chain and key: serve mqtts://. */
  tls?: { cert: Uint8Array; key: Uint8Array } | null
  /** A box's session began or ended (the broker's own view; never a payload). */
  onPresence?: (e: PresenceEvent) => void
  /** How often connected boxes are checked for revocation (default 30 s). */
  revalidateMs?: number
  /** Refusals and hook failures (default: ignored). */
  onWarning?: (detail: object, message: string) => void
}

/** aedes on a socket, with start/stop. */
export class EmbeddedBroker {
  readonly #opts: EmbeddedBrokerOptions
  readonly #identities = new WeakMap<Client, BrokerIdentity>()
  /** The live client of each connected box, so a replaced connection's close does not mark it offline. */
  readonly #boxes = new Map<string, Client>()
  #broker: Aedes | undefined
  #server: Server | undefined
  #url: string | undefined
  #sweep: NodeJS.Timeout | undefined

  constructor(opts: EmbeddedBrokerOptions) {
    this.#opts = opts
  }

  /** The broker's URL once started. */
  get url(): string {
    if (!this.#url) throw new Error('embedded broker not started')
    return this.#url
  }

  /** The aedes instance (broker-side publishes in tests: a re-delivery as the broker would make it). */
  get aedes(): Aedes {
    if (!this.#broker) throw new Error('embedded broker not started')
    return this.#broker
  }

  /** Create the broker and listen; resolves with the URL clients connect to. */
  async start(): Promise<string> {
    if (this.#url) return this.#url
    const warn = this.#opts.onWarning ?? (() => {})
    const gate = this.#opts.gate
    const broker = await Aedes.createBroker({
      authenticate: (client, username, password, done) => {
        gate.authenticate(client.id, username, password).then(
          (r) => {
            if (r.ok) {
              this.#identities.set(client, r.identity)
              done(null, true)
              return
            }
            warn({ clientId: client.id, username, reason: r.reason }, 'mqtt connection refused')
            done(Object.assign(new Error(r.reason), { returnCode: r.returnCode }) as AuthenticateError, false)
          },
          (err) => {
            warn({ err, clientId: client.id }, 'mqtt authentication failed')
            done(Object.assign(new Error('unavailable'), { returnCode: 3 }) as AuthenticateError, false)
          },
        )
      },
      authorizePublish: (client, packet, cb) => {
        // Publishes made by the broker itself (no client) are not a client's to authorise.
        if (!client) return cb(null)
        const id = this.#identities.get(client)
        if (id && mayPublish(id, packet.topic)) return cb(null)
        warn({ clientId: client.id, topic: packet.topic }, 'mqtt publish refused')
        cb(new Error('publish not authorised'))
      },
      authorizeSubscribe: (client, sub, cb) => {
        const id = this.#identities.get(client)
        if (id && maySubscribe(id, sub.topic)) return cb(null, sub)
        warn({ clientId: client.id, topic: sub.topic }, 'mqtt subscription refused')
        // A null subscription is a SUBACK failure (0x80) for that filter; the connection stays up.
        cb(null, null)
      },
    })
    broker.on('client', (client) => this.#presence(client, true))
    broker.on('clientDisconnect', (client) => this.#presence(client, false))
    const tls = this.#opts.tls
    const server = tls
      ? createTlsServer({ cert: Buffer.from(tls.cert), key: Buffer.from(tls.key) }, broker.handle)
      : createServer(broker.handle)
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(this.#opts.port, this.#opts.host, () => {
          server.off('error', reject)
          resolve()
        })
      })
    } catch (err) {
      await new Promise<void>((r) => broker.close(() => r()))
      throw err
    }
    this.#broker = broker
    this.#server = server
    this.#sweep = setInterval(() => void this.revalidate(), this.#opts.revalidateMs ?? 30_000)
    const port = (server.address() as AddressInfo).port
    const host = this.#opts.host.includes(':') ? `[${this.#opts.host}]` : this.#opts.host
    this.#url = `${tls ? 'mqtts' : 'mqtt'}://${host}:${port}`
    return this.#url
  }

  #presence(client: Client, online: boolean): void {
    const id = this.#identities.get(client)
    if (id?.kind !== 'device') return
    const key = `${id.tenantId}/${id.deviceId}`
    if (online) this.#boxes.set(key, client)
    else if (this.#boxes.get(key) === client) this.#boxes.delete(key)
    else return // an older connection of a box that has already reconnected
    this.#opts.onPresence?.({ tenantId: id.tenantId, deviceId: id.deviceId, online })
  }

  /** Disconnect every connected box that is no longer allowed (revoked, tenant suspended). */
  async revalidate(): Promise<number> {
    let closed = 0
    for (const client of [...this.#boxes.values()]) {
      const id = this.#identities.get(client)
      if (!id) continue
      let allowed = true
      try {
        allowed = await this.#opts.gate.stillAllowed(id)
      } catch (err) {
        this.#opts.onWarning?.({ err }, 'mqtt revalidation failed')
      }
      if (!allowed) {
        this.#opts.onWarning?.({ clientId: client.id }, 'disconnecting a box no longer allowed')
        client.close()
        closed++
      }
    }
    return closed
  }

  /** Disconnect every client, close the socket and the broker. Idempotent. */
  async stop(): Promise<void> {
    clearInterval(this.#sweep)
    const server = this.#server
    const broker = this.#broker
    this.#server = undefined
    this.#broker = undefined
    this.#url = undefined
    this.#boxes.clear()
    if (broker) await new Promise<void>((r) => broker.close(() => r()))
    if (server) {
      await new Promise<void>((r) => {
        server.close(() => r())
        ;(server as Server & { closeAllConnections?: () => void }).closeAllConnections?.()
      })
    }
  }
}
