/**
 * The few calls of the bridge's HTTP API provisioning needs, with one API key. A refusal becomes a
 * ProvisionError('bridge_refused') carrying the bridge's own error code; no answer at all, 'bridge_unreachable'.
 */
import { ProvisionError } from './errors.js'

// biome-ignore lint/suspicious/noExplicitAny: API answers are JSON documents described by the bridge's /openapi.json
export type Json = any

/** A bridge URL and an API key. */
export class BridgeClient {
  readonly baseUrl: string
  readonly key: string

  constructor(baseUrl: string, key: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, '')
    this.key = key
  }

  /** The same bridge with another key (the device key, to certify the box as itself). */
  as(key: string): BridgeClient {
    return new BridgeClient(this.baseUrl, key)
  }

  get(path: string): Promise<Json> {
    return this.call('GET', path)
  }

  post(path: string, body: unknown = {}): Promise<Json> {
    return this.call('POST', path, body)
  }

  async call(method: string, path: string, body?: unknown): Promise<Json> {
    let res: Response
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.key}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
    } catch (err) {
      throw new ProvisionError('bridge_unreachable', `${method} ${this.baseUrl}${path}`, { cause: err })
    }
    const text = await res.text()
    let json: Json = null
    try {
      json = text ? JSON.parse(text) : null
    } catch {
      json = null
    }
    if (!res.ok) {
      const code = json?.error?.code ?? 'http_error'
      throw new ProvisionError('bridge_refused', `${method} ${path}: ${res.status} ${code}`)
    }
    return json
  }
}
