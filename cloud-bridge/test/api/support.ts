/**
 * Test wiring for the HTTP API: the real app on a real migrated database (PGlite or PostgreSQL through
 * forEachDatabase), with simple stand-ins for the issuer, reconciliation and SMS sandbox whose behaviour
 * the tests control. Helpers create tenants and call routes with a key.
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto'
import { nodeBackend } from '@opg/protocol/node'
import { type ApiApp, createApi } from '../../src/api/app.js'
import type {
  CertSigner,
  IssuerPort,
  LogItemResult,
  PaymentFilter,
  PaymentView,
  ReconcilerPort,
  SmsPort,
  SmsRecord,
} from '../../src/api/ports.js'
import type { RateLimitOptions } from '../../src/auth/rate-limit.js'
import type { Db } from '../../src/db/types.js'
import type { OperatorCommandPort } from '../../src/fleet/box-command-actions.js'
import { MasterKey } from '../../src/issuer/master-key.js'
import type { BridgeMetrics } from '../../src/metrics/metrics.js'
import type { OnlinePayments } from '../../src/online/service.js'
import { createTenant } from '../../src/tenants/tenants.js'

/** A stand-in issuer: signs a JSON rendering of the fields with a per-tenant Ed25519 key. */
export class TestIssuer implements IssuerPort {
  readonly keys = new Map<
    string,
    { keyId: string; pub: Uint8Array; priv: ReturnType<typeof generateKeyPairSync>['privateKey'] }
  >()
  signed: { kind: 'wallet' | 'node'; tenantId: string; fields: Record<string, unknown> }[] = []

  #key(tenantId: string) {
    let k = this.keys.get(tenantId)
    if (!k) {
      const { publicKey, privateKey } = generateKeyPairSync('ed25519')
      const pub = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(-32))
      k = { keyId: randomBytes(4).toString('hex'), pub, priv: privateKey }
      this.keys.set(tenantId, k)
    }
    return k
  }

  async signer(tenantId: string): Promise<CertSigner> {
    const k = this.#key(tenantId)
    const render = (kind: 'wallet' | 'node', fields: object) => {
      const plain = JSON.parse(
        JSON.stringify(fields, (_k, v) =>
          typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v,
        ),
      ) as Record<string, unknown>
      this.signed.push({ kind, tenantId, fields: plain })
      const body = Buffer.from(JSON.stringify({ kind, keyId: k.keyId, ...plain }))
      return new Uint8Array(Buffer.concat([body, sign(null, body, k.priv)]))
    }
    return {
      keyId: k.keyId,
      walletCertificate: (f) => render('wallet', f),
      nodeCertificate: (f) => render('node', f),
    }
  }

  async keyring(tenantId: string): Promise<Map<string, Uint8Array>> {
    const k = this.#key(tenantId)
    return new Map([[k.keyId, k.pub]])
  }
}

/** A stand-in reconciler holding payments in memory; tokens are JSON `{ txId, merchantId, deviceId, amount }`. */
export class TestReconciler implements ReconcilerPort {
  readonly payments = new Map<string, PaymentView & { tenantId: string }>()
  calls: string[] = []

  add(
    tenantId: string,
    p: Partial<PaymentView> & { txId: string; walletId: string; merchantId: string },
  ): void {
    this.payments.set(p.txId, {
      tenantId,
      deviceId: '00000000000000d1',
      amount: 100n,
      currency: 'EUR',
      counter: 0n,
      status: 'held',
      firstSeenAt: new Date('2026-01-01T00:00:00Z'),
      holdUntil: new Date('2026-01-04T00:00:00Z'),
      ...p,
    })
  }

  #get(tenantId: string, txId: string) {
    const p = this.payments.get(txId)
    return p && p.tenantId === tenantId ? p : null
  }

  async uploadPayerLog(tenantId: string, walletId: string, tokens: Uint8Array[]): Promise<LogItemResult[]> {
    this.calls.push(`upload ${tenantId} ${walletId} ${tokens.length}`)
    return tokens.map((t, index) => {
      try {
        const tok = JSON.parse(Buffer.from(t).toString('utf8')) as { txId: string; merchantId: string }
        const dup = this.payments.has(tok.txId)
        if (!dup)
          this.add(tenantId, { txId: tok.txId, walletId, merchantId: tok.merchantId, status: 'confirmed' })
        return {
          index,
          txId: tok.txId,
          outcome: dup ? 'duplicate' : 'accepted',
          status: 'confirmed',
          code: null,
        }
      } catch {
        return { index, txId: null, outcome: 'rejected', status: null, code: 'bad_encoding' }
      }
    })
  }

  async dispute(tenantId: string, _walletId: string, txId: string): Promise<void> {
    this.calls.push(`dispute ${tenantId} ${txId}`)
    const p = this.#get(tenantId, txId)
    if (p) p.status = 'claimed'
  }

  async resolveDispute(tenantId: string, txId: string, decision: 'reverse' | 'uphold'): Promise<void> {
    this.calls.push(`resolve ${tenantId} ${txId} ${decision}`)
    const p = this.#get(tenantId, txId)
    if (p) p.status = decision === 'reverse' ? 'reversed' : 'confirmed'
  }

  async payment(tenantId: string, txId: string): Promise<PaymentView | null> {
    return this.#get(tenantId, txId)
  }

  async walletHistory(tenantId: string, walletId: string): Promise<PaymentView[]> {
    return [...this.payments.values()].filter((p) => p.tenantId === tenantId && p.walletId === walletId)
  }

  async merchantPayments(tenantId: string, merchantId: string): Promise<PaymentView[]> {
    return [...this.payments.values()].filter((p) => p.tenantId === tenantId && p.merchantId === merchantId)
  }

  async tenantPayments(tenantId: string, f: PaymentFilter): Promise<PaymentView[]> {
    this.calls.push(`payments ${tenantId} ${f.status ?? '*'} ${f.merchantId ?? '*'} ${f.deviceId ?? '*'}`)
    return [...this.payments.values()].filter((p) => p.tenantId === tenantId)
  }
}

/** A stand-in sandbox SMS listing. */
export class TestSms implements SmsPort {
  readonly messages: (SmsRecord & { tenantId: string })[] = []
  async listSandbox(tenantId: string): Promise<SmsRecord[]> {
    return this.messages.filter((m) => m.tenantId === tenantId)
  }
}

/** The app with its stand-ins. */
export interface TestApi {
  app: ApiApp
  sealer: MasterKey
  db: Db
  issuer: TestIssuer
  reconciler: TestReconciler
  sms: TestSms
  now: Date
}

/** Build the API over `db`. */
export function makeApi(
  db: Db,
  opts: {
    limits?: { bodyBytes?: number; logBodyBytes?: number }
    metrics?: BridgeMetrics
    rateLimits?: RateLimitOptions
    online?: OnlinePayments
    sealer?: MasterKey
    boxCommands?: OperatorCommandPort
  } = {},
): TestApi {
  const issuer = new TestIssuer()
  const reconciler = new TestReconciler()
  const sms = new TestSms()
  const sealer = opts.sealer ?? new MasterKey(nodeBackend, randomBytes(16))
  const t: TestApi = {
    app: undefined as unknown as ApiApp,
    sealer,
    db,
    issuer,
    reconciler,
    sms,
    now: new Date('2026-11-27T12:00:00Z'),
  }
  t.app = createApi({
    db,
    issuer,
    reconciler,
    sms,
    sealer,
    now: () => t.now,
    purseTtlSeconds: 72 * 3600,
    nodeCertTtlSeconds: 365 * 86400,
    ...(opts.limits ? { limits: opts.limits } : {}),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    ...(opts.rateLimits ? { rateLimits: opts.rateLimits } : {}),
    ...(opts.online ? { online: opts.online } : {}),
    ...(opts.boxCommands ? { boxCommands: opts.boxCommands } : {}),
  })
  return t
}

/** A JSON response: status and parsed body. */
export interface Res {
  status: number
  // biome-ignore lint/suspicious/noExplicitAny: test responses are inspected field by field
  body: any
}

/** Call a route with an API key and optional JSON body. */
export async function call(
  app: ApiApp,
  method: string,
  path: string,
  key: string | null,
  body?: unknown,
): Promise<Res> {
  const headers: Record<string, string> = {}
  if (key) headers.authorization = `Bearer ${key}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await app.request(path, {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  })
  const text = await res.text()
  let parsed: unknown = text
  try {
    parsed = JSON.parse(text)
  } catch {}
  return { status: res.status, body: parsed }
}

/** A 32-byte public key for tests, as base64url. */
export const testKey = (): string => randomBytes(32).toString('base64url')

/** A tenant with a merchant, a device, a funded-or-not wallet, and a key for each role. */
export interface World {
  tenantId: string
  operator: string
  merchantId: string
  merchantKey: string
  deviceId: string
  deviceKey: string
  walletId: string
  walletKey: string
}

/** Create a tenant and one of everything through the API itself. */
export async function makeWorld(api: TestApi, name: string): Promise<World> {
  const { tenant, operatorKey } = await createTenant(api.db, name, 'EUR')
  const op = operatorKey.key
  const m = await call(api.app, 'POST', '/v1/merchants', op, { name: `${name} shop` })
  const d = await call(api.app, 'POST', `/v1/merchants/${m.body.merchant.id}/devices`, op, {
    label: 'till 1',
  })
  const w = await call(api.app, 'POST', '/v1/wallets', op, { publicKey: testKey(), phone: '+4915112345678' })
  if (m.status !== 201 || d.status !== 201 || w.status !== 201) {
    throw new Error(`world setup failed: ${m.status} ${d.status} ${w.status} ${JSON.stringify(w.body)}`)
  }
  return {
    tenantId: tenant.id,
    operator: op,
    merchantId: m.body.merchant.id,
    merchantKey: m.body.apiKey.key,
    deviceId: d.body.device.id,
    deviceKey: d.body.apiKey.key,
    walletId: w.body.wallet.id,
    walletKey: w.body.apiKey.key,
  }
}
