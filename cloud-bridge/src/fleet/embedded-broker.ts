/**
 * The embedded MQTT broker: aedes in-process on a TCP port, used when no MQTT_URL is configured (demos,
 * a single small bridge). Production uses Mosquitto or an MQTT cluster; the consumer cannot tell the
 * difference. The default port (18830) never collides with a system broker on 1883.
 */
import { type AddressInfo, createServer, type Server } from 'node:net'
import { Aedes } from 'aedes'

/** Where the embedded broker listens. Port 0 picks a free port (tests). */
export interface EmbeddedBrokerOptions {
  host: string
  port: number
}

/** aedes on a TCP socket, with start/stop. */
export class EmbeddedBroker {
  readonly #opts: EmbeddedBrokerOptions
  #broker: Aedes | undefined
  #server: Server | undefined
  #url: string | undefined

  constructor(opts: EmbeddedBrokerOptions) {
    this.#opts = opts
  }

  /** The broker's URL once started. */
  get url(): string {
    if (!this.#url) throw new Error('embedded broker not started')
    return this.#url
  }

  /** Create the broker and listen; resolves with the URL clients connect to. */
  async start(): Promise<string> {
    if (this.#url) return this.#url
    const broker = await Aedes.createBroker()
    const server = createServer(broker.handle)
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
    const port = (server.address() as AddressInfo).port
    const host = this.#opts.host.includes(':') ? `[${this.#opts.host}]` : this.#opts.host
    this.#url = `mqtt://${host}:${port}`
    return this.#url
  }

  /** Disconnect every client, close the socket and the broker. Idempotent. */
  async stop(): Promise<void> {
    const server = this.#server
    const broker = this.#broker
    this.#server = undefined
    this.#broker = undefined
    this.#url = undefined
    if (broker) await new Promise<void>((r) => broker.close(() => r()))
    if (server) {
      await new Promise<void>((r) => {
        server.close(() => r())
        ;(server as Server & { closeAllConnections?: () => void }).closeAllConnections?.()
      })
    }
  }
}
