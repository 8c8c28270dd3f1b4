/**
 * A small typed client for the bridge's wallet API (cloud-bridge/src/api), on the Web `fetch` so it runs in
 * React Native and browsers as well as Node. Bytes travel as base64url; errors come back as WalletError:
 * 'offline' when the bridge cannot be reached, 'bridge' (with `status` and `remoteCode`) when it refuses.
 */
import type { IssuerKeyring } from '@opg/protocol'
import { fromB64u, toB64u } from './base64url.js'
import { WalletError } from './errors.js'

export interface BridgeClientOptions {
  /**
   * e.g. https://bridge.example.com (no trailing /v1). Plain http:// is refused (WalletError 'insecure_url')
   * except to loopback (localhost, 127.0.0.0/8, [::1]): API keys and payment data never cross a network in clear.
   */
  baseUrl: string
  /** A bearer API key: the wallet's own key, or an operator key for registration and top-ups. */
  apiKey?: string
  /** Custom fetch (tests, certificate pinning); default globalThis.fetch. */
  fetch?: typeof fetch
  /** Per-request timeout, ms (default 15 000). */
  timeoutMs?: number
}

export type Role = 'operator' | 'merchant' | 'wallet' | 'device'
export type PaymentStatus = 'held' | 'confirmed' | 'auto_approved' | 'claimed' | 'reversed' | 'double_spend'

export interface TenantInfo {
  id: string
  name: string
  currency: string
  role: Role
  subjectId: string | null
}

export interface WalletInfo {
  id: string
  publicKey: Uint8Array
  phone: string
  currency: string
  frozen: boolean
  frozenReason: string | null
  nextCounter: number
  createdAt: string
}

export interface Registration {
  wallet: WalletInfo
  /** The wallet's own API key; shown once — keep it in secure storage. */
  apiKey: string
}

export interface Balance {
  currency: string
  /** Spendable online / loadable into a purse, minor units. */
  available: number
  /** Held in escrow for offline purses, minor units. */
  escrow: number
}

export interface PurseInfo {
  id: string
  walletId: string
  amount: number
  perPaymentLimit: number
  currency: string
  counterBase: number
  counterEnd: number
  issuerKeyId: string
  /** The wallet certificate to install with `Wallet.installPurse`. */
  certificate: Uint8Array
  issuedAt: string
  expiresAt: string
}

export interface LogItemResult {
  index: number
  txId: string | null
  outcome: 'accepted' | 'duplicate' | 'rejected'
  status: PaymentStatus | null
  code: string | null
}

export interface PaymentInfo {
  txId: string
  walletId: string
  merchantId: string
  deviceId: string
  amount: number
  currency: string
  counter: number
  status: PaymentStatus
  firstSeenAt: string
  /** When a held payment auto-approves unless claimed; null once settled. */
  holdUntil: string | null
}

export interface ClaimInfo {
  id: string
  txId: string
  walletId: string
  reason: string
  status: 'open' | 'reversed' | 'upheld'
  filedAt: string
  resolvedAt: string | null
  note: string | null
}

/** The largest log upload the bridge takes in one request. */
export const LOG_BATCH_MAX = 500

type Json = Record<string, unknown>

/** True for the hosts that never leave this device. */
function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase()
  return h === 'localhost' || h === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
}

/**
 * The bridge URL, if it is safe to send keys to: https://, or http:// to loopback. Anything else throws
 * WalletError 'insecure_url' (no network request is made).
 */
export function checkBridgeUrl(baseUrl: string): string {
  let u: URL
  try {
    u = new URL(baseUrl)
  } catch (cause) {
    throw new WalletError('insecure_url', 'the bridge URL is not a valid URL', { cause })
  }
  if (u.protocol === 'https:') return baseUrl
  if (u.protocol === 'http:' && isLoopbackHost(u.hostname)) return baseUrl
  throw new WalletError(
    'insecure_url',
    `refusing ${u.protocol}//${u.host}: the bridge must be reached over https:// (http:// only to loopback)`,
  )
}

export class BridgeClient {
  readonly baseUrl: string
  readonly #apiKey: string | undefined
  readonly #fetch: typeof fetch
  readonly #timeoutMs: number

  constructor(o: BridgeClientOptions) {
    this.baseUrl = checkBridgeUrl(o.baseUrl).replace(/\/+$/, '')
    this.#apiKey = o.apiKey
    this.#fetch = o.fetch ?? ((input, init) => globalThis.fetch(input, init))
    this.#timeoutMs = o.timeoutMs ?? 15_000
  }

  /** The same bridge with another API key (e.g. the wallet key returned by registration). */
  withKey(apiKey: string): BridgeClient {
    return new BridgeClient({ baseUrl: this.baseUrl, apiKey, fetch: this.#fetch, timeoutMs: this.#timeoutMs })
  }

  /** The tenant of the calling key and the key's role. */
  async tenant(): Promise<TenantInfo> {
    return (await this.#call('GET', '/v1/tenant')) as unknown as TenantInfo
  }

  /** The tenant's issuer public keys (for stickers and purse certificates). */
  async issuerKeys(): Promise<IssuerKeyring> {
    const r = (await this.#call('GET', '/v1/issuer/keys')) as { keys: { keyId: string; publicKey: string }[] }
    return new Map(r.keys.map((k) => [k.keyId, fromB64u(k.publicKey)]))
  }

  /** Register a wallet's public key and phone. Needs an operator key (the app's backend holds it). */
  async registerWallet(r: {
    publicKey: Uint8Array
    phone: string
    currency?: string
  }): Promise<Registration> {
    const res = (await this.#call('POST', '/v1/wallets', {
      publicKey: toB64u(r.publicKey),
      phone: r.phone,
      ...(r.currency ? { currency: r.currency } : {}),
    })) as { wallet: Json; apiKey: { key: string } }
    return { wallet: walletInfo(res.wallet), apiKey: res.apiKey.key }
  }

  async wallet(walletId: string): Promise<WalletInfo> {
    return walletInfo(await this.#call('GET', `/v1/wallets/${id(walletId)}`))
  }

  async balance(walletId: string): Promise<Balance> {
    return (await this.#call('GET', `/v1/wallets/${id(walletId)}/balance`)) as unknown as Balance
  }

  /** Credit the wallet from card clearing (operator key): what the app backend does after a card payment. */
  async topUp(walletId: string, r: { amount: number; ref: string }): Promise<Balance> {
    return (await this.#call('POST', `/v1/wallets/${id(walletId)}/credit`, r)) as unknown as Balance
  }

  /** Escrow `amount` from the balance and get the purse certificate (wallet key). */
  async loadPurse(
    walletId: string,
    r: { amount: number; perPaymentLimit?: number; ttlSeconds?: number },
  ): Promise<PurseInfo> {
    return purseInfo(await this.#call('POST', `/v1/wallets/${id(walletId)}/purses`, r))
  }

  async purses(walletId: string): Promise<PurseInfo[]> {
    const r = (await this.#call('GET', `/v1/wallets/${id(walletId)}/purses`)) as { purses: Json[] }
    return r.purses.map(purseInfo)
  }

  /** Upload signed tokens (oldest first), in batches the bridge accepts; one result per token, in order. */
  async uploadLog(walletId: string, tokens: readonly Uint8Array[]): Promise<LogItemResult[]> {
    const out: LogItemResult[] = []
    for (let i = 0; i < tokens.length; i += LOG_BATCH_MAX) {
      const batch = tokens.slice(i, i + LOG_BATCH_MAX)
      const r = (await this.#call('POST', `/v1/wallets/${id(walletId)}/log`, {
        tokens: batch.map(toB64u),
      })) as { results: LogItemResult[] }
      out.push(...r.results.map((x) => ({ ...x, index: x.index + i })))
    }
    return out
  }

  /** Offline payments with their statuses, newest first. */
  async history(walletId: string, o: { limit?: number } = {}): Promise<PaymentInfo[]> {
    const q = o.limit ? `?limit=${o.limit}` : ''
    return (
      (await this.#call('GET', `/v1/wallets/${id(walletId)}/history${q}`)) as { payments: PaymentInfo[] }
    ).payments
  }

  /** Status of one payment. */
  async payment(txId: string): Promise<PaymentInfo> {
    return (await this.#call('GET', `/v1/payments/${encodeURIComponent(txId)}`)) as unknown as PaymentInfo
  }

  /** Dispute a payment (it stops auto-approving; an operator decides). */
  async fileClaim(walletId: string, r: { txId: string; reason: string }): Promise<ClaimInfo> {
    return (await this.#call('POST', `/v1/wallets/${id(walletId)}/claims`, r)) as unknown as ClaimInfo
  }

  async claims(o: { status?: ClaimInfo['status'] } = {}): Promise<ClaimInfo[]> {
    const q = o.status ? `?status=${o.status}` : ''
    return ((await this.#call('GET', `/v1/claims${q}`)) as { claims: ClaimInfo[] }).claims
  }

  /**
   * A raw call to the bridge with this client's key, timeout and error mapping, for routes this client does not
   * wrap (yet). Resolves with the parsed JSON body of a 2xx answer.
   */
  request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Json> {
    return this.#call(method, path, body)
  }

  async #call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Json> {
    const headers: Record<string, string> = { accept: 'application/json' }
    if (this.#apiKey) headers.authorization = `Bearer ${this.#apiKey}`
    if (body !== undefined) headers['content-type'] = 'application/json'
    const ctl = new AbortController()
    const timer = setTimeout(() => ctl.abort(), this.#timeoutMs)
    let res: Response
    try {
      res = await this.#fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        signal: ctl.signal,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      })
    } catch (cause) {
      clearTimeout(timer)
      throw new WalletError('offline', `the bridge at ${this.baseUrl} cannot be reached`, { cause })
    }
    try {
      const text = await res.text()
      let parsed: unknown
      try {
        parsed = text ? JSON.parse(text) : {}
      } catch (cause) {
        throw new WalletError('bridge', `the bridge answered ${res.status} with non-JSON`, {
          cause,
          status: res.status,
        })
      }
      if (!res.ok) {
        const e = (parsed as { error?: BridgeErrorBody }).error
        throw new WalletError('bridge', `bridge refused ${method} ${path}: ${refusal(e, res.status)}`, {
          status: res.status,
          ...(e?.code ? { remoteCode: e.code } : {}),
        })
      }
      return parsed as Json
    } catch (cause) {
      if (cause instanceof WalletError) throw cause
      throw new WalletError('offline', 'the bridge connection broke', { cause })
    } finally {
      clearTimeout(timer)
    }
  }
}

/** The bridge's error body: a stable code, a message, and for schema failures the offending fields. */
interface BridgeErrorBody {
  code?: string
  message?: string
  issues?: { path?: string; message?: string }[]
}

/** What the bridge said, for a person: `invalid_request: ttlSeconds: a purse lives at least 60 s (…)`. */
function refusal(e: BridgeErrorBody | undefined, status: number): string {
  if (!e?.code) return String(status)
  const issues = (e.issues ?? [])
    .map((i) => `${i.path ? `${i.path}: ` : ''}${i.message ?? ''}`)
    .filter(Boolean)
  if (issues.length > 0) return `${e.code}: ${issues.join('; ')}`
  return e.message ? `${e.code}: ${e.message}` : e.code
}

function id(walletId: string): string {
  if (!/^[0-9a-f]{16}$/.test(walletId))
    throw new WalletError('no_wallet', 'wallet id must be 16 lowercase hex')
  return walletId
}

function walletInfo(j: Json): WalletInfo {
  return { ...(j as unknown as WalletInfo), publicKey: fromB64u(String(j.publicKey)) }
}

function purseInfo(j: Json): PurseInfo {
  return { ...(j as unknown as PurseInfo), certificate: fromB64u(String(j.certificate)) }
}
