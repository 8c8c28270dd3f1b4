/**
 * A small local HTTP server speaking the part of Twilio's Messages API the bridge uses, for tests:
 * POST /2010-04-01/Accounts/{sid}/Messages.json, form-encoded To/From/Body, basic auth. Each request takes
 * the next scripted reply ('ok', a status number, or 'hang'); with the script empty it answers 'ok'.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** One request the server received. */
export interface FakeTwilioRequest {
  sid: string
  auth: string | undefined
  idempotencyKey: string | undefined
  form: Record<string, string>
}

/** What the next request gets. */
export type FakeReply =
  | 'ok'
  | 'hang'
  | number
  | { status: number; headers?: Record<string, string>; body?: unknown }

/** The fake server. `start()` listens on 127.0.0.1 (port 0); `stop()` closes it and every connection. */
export class FakeTwilio {
  readonly requests: FakeTwilioRequest[] = []
  readonly #script: FakeReply[] = []
  readonly #sid: string
  readonly #token: string
  #server: Server | undefined
  #seq = 0
  #hanging: ServerResponse[] = []

  constructor(opts: { sid?: string; token?: string } = {}) {
    this.#sid = opts.sid ?? 'AC0123456789abcdef0123456789abcdef'
    this.#token = opts.token ?? 'secret-token'
  }

  get sid(): string {
    return this.#sid
  }

  get token(): string {
    return this.#token
  }

  /** Base URL, once started. */
  get url(): string {
    const a = this.#server?.address() as AddressInfo | null
    if (!a) throw new Error('FakeTwilio not started')
    return `http://127.0.0.1:${a.port}`
  }

  /** Queue replies for the next requests. */
  script(...replies: FakeReply[]): void {
    this.#script.push(...replies)
  }

  async start(): Promise<void> {
    this.#server = createServer((req, res) => void this.#handle(req, res))
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve))
  }

  async stop(): Promise<void> {
    for (const res of this.#hanging) res.destroy()
    this.#hanging = []
    const s = this.#server
    this.#server = undefined
    if (!s) return
    s.closeAllConnections()
    await new Promise<void>((resolve) => s.close(() => resolve()))
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const m = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(req.url ?? '')
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers })
      res.end(JSON.stringify(body))
    }
    if (req.method !== 'POST' || !m) return json(404, { code: 20404, message: 'not found' })
    const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')))
    const auth = req.headers.authorization
    const key = req.headers['idempotency-key']
    this.requests.push({
      sid: decodeURIComponent(m[1]!),
      auth,
      idempotencyKey: typeof key === 'string' ? key : undefined,
      form,
    })
    const expected = `Basic ${Buffer.from(`${this.#sid}:${this.#token}`).toString('base64')}`
    if (auth !== expected || decodeURIComponent(m[1]!) !== this.#sid) {
      return json(401, { code: 20003, message: 'Authenticate', status: 401 })
    }
    const reply = this.#script.shift() ?? 'ok'
    if (reply === 'hang') {
      this.#hanging.push(res)
      return
    }
    if (reply === 'ok') {
      if (!form.To || !form.From || !form.Body)
        return json(400, { code: 21604, message: 'missing parameter' })
      return json(201, {
        sid: `SM${(++this.#seq).toString(16).padStart(32, '0')}`,
        status: 'queued',
        to: form.To,
      })
    }
    if (typeof reply === 'number') return json(reply, { code: reply * 100, message: `scripted ${reply}` })
    return json(reply.status, reply.body ?? {}, reply.headers)
  }
}
