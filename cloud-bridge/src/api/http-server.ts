/**
 * Serves the API app on a socket: HTTPS when a certificate is configured (node:https through
 * @hono/node-server), plain HTTP otherwise — and then only on a loopback address unless the operator
 * explicitly allows it (a TLS-terminating proxy in front).
 */

import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { type ServerType, serve } from '@hono/node-server'
import { isLoopback } from '../config.js'
import { BridgeError } from './errors.js'

/** Options of the HTTP server. */
export interface HttpServerOptions {
  fetch: (req: Request) => Response | Promise<Response>
  host: string
  /** 0 picks a free port. */
  port: number
  /** PEM certificate chain and key; absent → plain HTTP. */
  tls?: { cert: string | Buffer; key: string | Buffer } | null
  allowInsecureBind?: boolean
}

/** The API's listening socket, with start/stop. */
export class HttpServer {
  readonly #opts: HttpServerOptions
  #server: ServerType | undefined
  #url: string | undefined

  constructor(opts: HttpServerOptions) {
    this.#opts = opts
  }

  /** The base URL once started. */
  get url(): string {
    if (!this.#url) throw new Error('http server not started')
    return this.#url
  }

  /** Listen; resolves with the base URL. Refuses plain HTTP on a non-loopback address unless allowed. */
  async start(): Promise<string> {
    if (this.#url) return this.#url
    const { host, port, tls } = this.#opts
    if (!tls && !isLoopback(host) && !this.#opts.allowInsecureBind) {
      throw new BridgeError('not_configured', `refusing plain HTTP on non-loopback address ${host}`)
    }
    const server = await new Promise<ServerType>((resolve, reject) => {
      const s = tls
        ? serve({
            fetch: this.#opts.fetch,
            hostname: host,
            port,
            createServer: createHttpsServer,
            serverOptions: { cert: tls.cert, key: tls.key },
          })
        : serve({ fetch: this.#opts.fetch, hostname: host, port })
      s.once('error', reject)
      s.once('listening', () => {
        s.off('error', reject)
        resolve(s)
      })
    })
    this.#server = server
    const addr = server.address() as AddressInfo
    const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
    this.#url = `${tls ? 'https' : 'http'}://${h}:${addr.port}`
    return this.#url
  }

  /** Stop accepting, close open connections, resolve when closed. Idempotent. */
  async stop(): Promise<void> {
    const s = this.#server
    this.#server = undefined
    this.#url = undefined
    if (!s) return
    await new Promise<void>((resolve) => {
      s.close(() => resolve())
      ;(s as { closeAllConnections?: () => void }).closeAllConnections?.()
    })
  }
}
