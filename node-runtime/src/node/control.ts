/**
 * The local control socket: a running node listens on a unix socket in its data directory (mode 0600), so
 * `opg-node status|sync|scan` talk to it instead of opening the vault a second time. One JSON request per
 * connection, answered by JSON lines: zero or more `{event: …}` then one `{ok: true, result}` or
 * `{ok: false, code, message}`.
 */
import { chmod, unlink } from 'node:fs/promises'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'

/** The socket's file name inside the data directory. */
export const CONTROL_SOCKET = 'opg-node.sock'

export function controlSocketPath(dataDir: string): string {
  return join(dataDir, CONTROL_SOCKET)
}

export type ControlRequest =
  | { cmd: 'status' }
  | { cmd: 'sync'; timeoutMs?: number }
  | { cmd: 'accept'; qrText: string }

/** What the server calls; each may emit events (progress) before resolving. */
export interface ControlHandler {
  handle(req: ControlRequest, emit: (event: Record<string, unknown>) => void): Promise<unknown>
}

export type ControlErrorCode = 'not_running' | 'already_running' | 'bad_request' | 'failed'

export class ControlError extends Error {
  override readonly name = 'ControlError'
  readonly code: ControlErrorCode
  constructor(code: ControlErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/** Options of `ControlServer`. */
export interface ControlServerOptions {
  /**
   * How long a connection may take to send its request line (default 5 s). A client that connects and never
   * finishes a line would otherwise hold a socket and its buffer for as long as the node runs.
   */
  requestTimeoutMs?: number
}

export class ControlServer {
  readonly path: string
  readonly #handler: ControlHandler
  readonly #requestTimeoutMs: number
  #server: Server | undefined
  readonly #sockets = new Set<Socket>()

  constructor(path: string, handler: ControlHandler, options: ControlServerOptions = {}) {
    this.path = path
    this.#handler = handler
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 5000
  }

  /** Listen; refuses when another node answers on the socket, removes a stale one otherwise. */
  async start(): Promise<void> {
    await assertNotRunning(this.path)
    await unlink(this.path).catch(() => {})
    const server = createServer((s) => this.#serve(s))
    this.#server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.path, () => {
        server.off('error', reject)
        resolve()
      })
    })
    await chmod(this.path, 0o600)
  }

  async stop(): Promise<void> {
    const server = this.#server
    this.#server = undefined
    if (!server) return
    for (const s of this.#sockets) s.destroy()
    await new Promise<void>((r) => server.close(() => r()))
    await unlink(this.path).catch(() => {})
  }

  #serve(socket: Socket): void {
    this.#sockets.add(socket)
    socket.on('close', () => this.#sockets.delete(socket))
    socket.on('error', () => {})
    let buf = ''
    socket.setEncoding('utf8')
    // A deadline for the whole request line, not an idle timer: a client trickling a byte now and then must not
    // hold the socket either. Once the request is read, a `sync` may rightly run for as long as it asks.
    const deadline = setTimeout(() => socket.destroy(), this.#requestTimeoutMs)
    socket.on('close', () => clearTimeout(deadline))
    socket.on('data', (chunk: string) => {
      buf += chunk
      const nl = buf.indexOf('\n')
      if (nl < 0) {
        if (buf.length > 64 * 1024) socket.destroy()
        return
      }
      clearTimeout(deadline)
      socket.removeAllListeners('data')
      void this.#answer(socket, buf.slice(0, nl))
    })
  }

  async #answer(socket: Socket, line: string): Promise<void> {
    const write = (obj: unknown) => {
      if (!socket.destroyed) socket.write(`${JSON.stringify(obj, jsonBytes)}\n`)
    }
    let req: ControlRequest
    try {
      req = parseRequest(JSON.parse(line))
    } catch {
      write({ ok: false, code: 'bad_request', message: 'unreadable request' })
      socket.end()
      return
    }
    try {
      const result = await this.#handler.handle(req, (event) => write({ event: 'progress', ...event }))
      write({ ok: true, result })
    } catch (err) {
      const code =
        typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : 'failed'
      write({ ok: false, code, message: err instanceof Error ? err.message : String(err) })
    }
    socket.end()
  }
}

/** Send one request to a running node. Rejects with ControlError('not_running') when none answers. */
export function controlRequest<T = unknown>(
  path: string,
  req: ControlRequest,
  onEvent?: (event: Record<string, unknown>) => void,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const socket = connect(path)
    let buf = ''
    let settled = false
    const finish = (fn: () => void) => {
      if (settled) return
      settled = true
      socket.destroy()
      fn()
    }
    socket.setEncoding('utf8')
    socket.on('connect', () => socket.write(`${JSON.stringify(req)}\n`))
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const notRunning = err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
      finish(() =>
        reject(new ControlError(notRunning ? 'not_running' : 'failed', 'no node answers', { cause: err })),
      )
    })
    socket.on('data', (chunk: string) => {
      buf += chunk
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const msg = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>
        buf = buf.slice(nl + 1)
        if ('event' in msg) onEvent?.(msg)
        else if (msg.ok) return finish(() => resolve(msg.result as T))
        else return finish(() => reject(new ControlError('failed', String(msg.message ?? msg.code))))
      }
    })
    socket.on('close', () => finish(() => reject(new ControlError('failed', 'node closed the connection'))))
  })
}

function parseRequest(raw: unknown): ControlRequest {
  const r = raw as Record<string, unknown>
  if (r?.cmd === 'status') return { cmd: 'status' }
  if (r?.cmd === 'sync')
    return typeof r.timeoutMs === 'number' ? { cmd: 'sync', timeoutMs: r.timeoutMs } : { cmd: 'sync' }
  if (r?.cmd === 'accept' && typeof r.qrText === 'string') return { cmd: 'accept', qrText: r.qrText }
  throw new ControlError('bad_request', 'unknown command')
}

/** Byte arrays travel as hex. */
function jsonBytes(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? Buffer.from(value).toString('hex') : value
}

/** Throw ControlError('already_running') when a node answers on `path` (check before opening the vault). */
export async function assertNotRunning(path: string): Promise<void> {
  if (await isListening(path))
    throw new ControlError('already_running', `a node is already running (${path})`)
}

function isListening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path)
    s.on('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.on('error', () => resolve(false))
  })
}
