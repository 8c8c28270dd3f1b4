/**
 * A small client for the bridge's HTTP API as the local stack and the demo use it: one call per request,
 * JSON in and out, and an ApiError carrying the bridge's error code when the answer is not 2xx.
 */

/** The bridge refused a request: `code` is the API's stable error code. */
export class ApiError extends Error {
  override readonly name = 'ApiError'
  readonly code: string
  readonly status: number
  constructor(status: number, code: string, message: string) {
    super(`${status} ${code}: ${message}`)
    this.status = status
    this.code = code
  }
}

// biome-ignore lint/suspicious/noExplicitAny: API answers are JSON documents described by /openapi.json
export type Json = any

/** Calls the bridge at `baseUrl` with one API key. */
export class Api {
  readonly baseUrl: string
  readonly key: string | undefined

  constructor(baseUrl: string, key?: string) {
    this.baseUrl = baseUrl
    this.key = key
  }

  /** The same bridge with another key. */
  as(key: string): Api {
    return new Api(this.baseUrl, key)
  }

  get(path: string): Promise<Json> {
    return this.call('GET', path)
  }

  post(path: string, body: unknown = {}): Promise<Json> {
    return this.call('POST', path, body)
  }

  async call(method: string, path: string, body?: unknown): Promise<Json> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        ...(this.key ? { authorization: `Bearer ${this.key}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await res.text()
    const json = text ? JSON.parse(text) : null
    if (!res.ok) {
      throw new ApiError(res.status, json?.error?.code ?? 'http_error', json?.error?.message ?? text)
    }
    return json
  }
}
