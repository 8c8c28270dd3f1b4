/**
 * A stand-in for the bridge's wallet API on 127.0.0.1: the same paths, auth and JSON shapes as
 * cloud-bridge/src/api (wallet-routes.ts, claim-routes.ts), with the real protocol issuing purse
 * certificates and verifying uploaded tokens, and in-memory books instead of PostgreSQL.
 */
import type { AddressInfo } from 'node:net'
import { type ServerType, serve } from '@hono/node-server'
import {
  type CryptoBackend,
  decodeToken,
  isProtocolError,
  issueWalletCertificate,
  type KeyPair,
  keyId,
  makeKeyring,
  newId8,
  verifyToken,
} from '@opg/protocol'
import { Hono } from 'hono'
import { fromB64u, toB64u } from '../../src/core/base64url.js'

interface FakeWallet {
  id: string
  publicKey: Uint8Array
  phone: string
  key: string
  available: number
  escrow: number
  nextCounter: number
}

interface FakePayment {
  txId: string
  walletId: string
  merchantId: string
  deviceId: string
  amount: number
  currency: string
  counter: number
  status: string
  firstSeenAt: string
  holdUntil: string | null
}

export const OPERATOR_KEY = 'opg_0000000000000001_operatorsecret'
export const TENANT_ID = '0000000000000001'

export class FakeBridge {
  readonly wallets = new Map<string, FakeWallet>()
  readonly payments = new Map<string, FakePayment>()
  readonly requests: string[] = []
  #server: ServerType | undefined
  url = ''

  constructor(
    private readonly c: CryptoBackend,
    private readonly issuer: KeyPair,
    private readonly now: () => number,
  ) {}

  app(): Hono {
    const app = new Hono()
    const err = (code: string, status: number) =>
      new Response(JSON.stringify({ error: { code, message: code } }), {
        status,
        headers: { 'content-type': 'application/json' },
      })
    const who = (
      auth: string | undefined,
    ): { role: 'operator' } | { role: 'wallet'; w: FakeWallet } | null => {
      const key = /^Bearer (\S+)$/.exec(auth ?? '')?.[1]
      if (key === OPERATOR_KEY) return { role: 'operator' }
      for (const w of this.wallets.values()) if (w.key === key) return { role: 'wallet', w }
      return null
    }
    app.use('*', async (c, next) => {
      this.requests.push(`${c.req.method} ${c.req.path}`)
      await next()
    })
    app.use('/v1/*', async (c, next) => {
      if (!who(c.req.header('authorization'))) return err('unauthorized', 401)
      await next()
    })
    const walletFor = (c: {
      req: { header: (n: string) => string | undefined; param: (n: string) => string }
    }) => {
      const p = who(c.req.header('authorization'))!
      const w = this.wallets.get(c.req.param('walletId'))
      if (!w || (p.role === 'wallet' && p.w !== w)) return null
      return w
    }
    const balance = (w: FakeWallet) => ({ currency: 'EUR', available: w.available, escrow: w.escrow })

    app.get('/v1/tenant', (c) => {
      const p = who(c.req.header('authorization'))!
      return c.json({
        id: TENANT_ID,
        name: 'Test bank',
        currency: 'EUR',
        role: p.role,
        subjectId: p.role === 'wallet' ? p.w.id : null,
      })
    })
    app.get('/v1/issuer/keys', (c) =>
      c.json({
        keys: [{ keyId: keyId(this.c, this.issuer.publicKey), publicKey: toB64u(this.issuer.publicKey) }],
      }),
    )
    app.post('/v1/wallets', async (c) => {
      if (who(c.req.header('authorization'))!.role !== 'operator') return err('forbidden', 403)
      const body = (await c.req.json()) as { publicKey: string; phone: string }
      const id = newId8(this.c)
      const w: FakeWallet = {
        id,
        publicKey: fromB64u(body.publicKey),
        phone: body.phone,
        key: `opg_${id}_walletsecret`,
        available: 0,
        escrow: 0,
        nextCounter: 1,
      }
      this.wallets.set(id, w)
      const wallet = {
        id,
        publicKey: body.publicKey,
        phone: body.phone,
        currency: 'EUR',
        frozen: false,
        frozenReason: null,
        nextCounter: 1,
        createdAt: new Date(this.now()).toISOString(),
      }
      return c.json(
        { wallet, apiKey: { id: newId8(this.c), key: w.key, role: 'wallet', subjectId: id } },
        201,
      )
    })
    app.get('/v1/wallets/:walletId/balance', (c) => {
      const w = walletFor(c)
      return w ? c.json(balance(w)) : err('not_found', 404)
    })
    app.post('/v1/wallets/:walletId/credit', async (c) => {
      if (who(c.req.header('authorization'))!.role !== 'operator') return err('forbidden', 403)
      const w = walletFor(c)
      if (!w) return err('not_found', 404)
      w.available += ((await c.req.json()) as { amount: number }).amount
      return c.json(balance(w))
    })
    app.post('/v1/wallets/:walletId/purses', async (c) => {
      const w = walletFor(c)
      if (!w) return err('not_found', 404)
      const r = (await c.req.json()) as { amount: number; perPaymentLimit?: number; ttlSeconds?: number }
      if (r.amount > w.available) return err('insufficient_funds', 409)
      w.available -= r.amount
      w.escrow += r.amount
      const issuedAt = Math.floor(this.now() / 1000)
      const expiresAt = issuedAt + (r.ttlSeconds ?? 72 * 3600)
      const counterBase = w.nextCounter
      w.nextCounter = counterBase + r.amount
      const perPaymentLimit = r.perPaymentLimit ?? Math.min(r.amount, 5000)
      const cert = issueWalletCertificate(this.c, this.issuer, {
        walletId: w.id,
        publicKey: w.publicKey,
        perPaymentLimit,
        purseAmount: r.amount,
        currency: 'EUR',
        counterBase,
        issuedAt,
        expiresAt,
      })
      return c.json(
        {
          id: newId8(this.c),
          walletId: w.id,
          amount: r.amount,
          perPaymentLimit,
          currency: 'EUR',
          counterBase,
          counterEnd: w.nextCounter,
          issuerKeyId: cert.issuerKeyId,
          certificate: toB64u(cert.bytes),
          issuedAt: new Date(issuedAt * 1000).toISOString(),
          expiresAt: new Date(expiresAt * 1000).toISOString(),
        },
        201,
      )
    })
    app.post('/v1/wallets/:walletId/log', async (c) => {
      const w = walletFor(c)
      if (!w) return err('not_found', 404)
      const { tokens } = (await c.req.json()) as { tokens: string[] }
      const keyring = makeKeyring(this.c, [this.issuer.publicKey])
      const results = tokens.map((b64, index) => {
        try {
          const t = decodeToken(fromB64u(b64))
          verifyToken(this.c, t, { issuerKeys: keyring })
          if (t.walletId !== w.id)
            return { index, txId: t.txId, outcome: 'rejected', status: null, code: 'wrong_wallet' }
          const seen = this.payments.get(t.txId)
          if (seen) return { index, txId: t.txId, outcome: 'duplicate', status: seen.status, code: null }
          const firstSeenAt = new Date(this.now())
          this.payments.set(t.txId, {
            txId: t.txId,
            walletId: w.id,
            merchantId: t.merchantId,
            deviceId: t.deviceId,
            amount: t.amount,
            currency: t.currency,
            counter: t.counter,
            status: 'held',
            firstSeenAt: firstSeenAt.toISOString(),
            holdUntil: new Date(firstSeenAt.getTime() + 72 * 3600_000).toISOString(),
          })
          return { index, txId: t.txId, outcome: 'accepted', status: 'held', code: null }
        } catch (e) {
          return {
            index,
            txId: null,
            outcome: 'rejected',
            status: null,
            code: isProtocolError(e) ? e.code : 'internal',
          }
        }
      })
      return c.json({ results })
    })
    app.get('/v1/wallets/:walletId/history', (c) => {
      const w = walletFor(c)
      if (!w) return err('not_found', 404)
      const list = [...this.payments.values()].filter((p) => p.walletId === w.id).reverse()
      return c.json({ payments: list })
    })
    app.post('/v1/wallets/:walletId/claims', async (c) => {
      const w = walletFor(c)
      if (!w) return err('not_found', 404)
      const { txId, reason } = (await c.req.json()) as { txId: string; reason: string }
      const p = this.payments.get(txId)
      if (!p || p.walletId !== w.id) return err('not_found', 404)
      if (p.status !== 'held') return err('claim_not_allowed', 409)
      p.status = 'claimed'
      p.holdUntil = null
      return c.json(
        {
          id: newId8(this.c),
          txId,
          walletId: w.id,
          reason,
          status: 'open',
          filedAt: new Date(this.now()).toISOString(),
          resolvedAt: null,
          note: null,
        },
        201,
      )
    })
    return app
  }

  /** Listen on 127.0.0.1 (a free port); resolves with the base URL. */
  async start(): Promise<string> {
    const app = this.app()
    await new Promise<void>((resolve) => {
      this.#server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve())
    })
    this.url = `http://127.0.0.1:${(this.#server!.address() as AddressInfo).port}`
    return this.url
  }

  async stop(): Promise<void> {
    const s = this.#server
    this.#server = undefined
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()))
  }
}
