/**
 * The box's network link, as a TCP relay on 127.0.0.1: `down()` is the box leaving coverage (every open
 * connection is cut and new ones are refused, so the broker publishes the box's last will), `up()` is coverage
 * coming back (the box's MQTT client reconnects by itself). The box is configured with `url`, not the broker's.
 */
import { connect, createServer, type Server, type Socket } from 'node:net'

/** Options of NetLink. */
export interface NetLinkOptions {
  /** Where the real service listens, e.g. the broker's mqtt://127.0.0.1:18830. */
  target: string
  /** Start with the link up (default true). */
  up?: boolean
}

/** A cuttable TCP relay in front of one service. */
export class NetLink {
  #target: URL
  #server: Server | undefined
  #up: boolean
  readonly #sockets = new Set<Socket>()
  #url: string | undefined

  constructor(o: NetLinkOptions) {
    this.#target = new URL(o.target)
    this.#up = o.up ?? true
  }

  /** The relay's URL (same scheme as the target). */
  get url(): string {
    if (!this.#url) throw new Error('link not started')
    return this.#url
  }

  get isUp(): boolean {
    return this.#up
  }

  async start(): Promise<string> {
    const server = createServer((client) => this.#relay(client))
    this.#server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve())
    })
    const addr = server.address()
    if (addr === null || typeof addr === 'string') throw new Error('no address')
    this.#url = `${this.#target.protocol}//127.0.0.1:${addr.port}`
    return this.#url
  }

  /** Coverage lost: cut every connection now and refuse new ones. */
  down(): void {
    this.#up = false
    for (const s of this.#sockets) s.destroy()
    this.#sockets.clear()
  }

  /** Relay new connections to another address (the service moved, e.g. restarted on another port). */
  retarget(target: string): void {
    this.#target = new URL(target)
  }

  /** Coverage back. */
  up(): void {
    this.#up = true
  }

  async stop(): Promise<void> {
    this.down()
    const server = this.#server
    this.#server = undefined
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  #relay(client: Socket): void {
    if (!this.#up) {
      client.destroy()
      return
    }
    const upstream = connect(Number(this.#target.port), this.#target.hostname)
    for (const s of [client, upstream]) {
      this.#sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => {
        this.#sockets.delete(s)
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream)
    upstream.pipe(client)
  }
}
