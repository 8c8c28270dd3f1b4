// The attack arena: one tenant with real merchants, boxes and wallets, real signed tokens, the real ingest path
// (sealed MQTT batch → verification → reconciliation → ack), the real wallet-log adapter (verification and upload
// checks), the ledger and the sweep — on whichever database the test runs. Plus the checks every attack ends
// with: the ledger balances, no merchant holding a receipt is silently short, every refused token is kept.
import { randomBytes } from 'node:crypto'
import {
  type Ack,
  AckSchema,
  chainStart,
  deriveKey,
  id8ToBytes,
  newId8,
  openMqtt,
  type PaymentToken,
  sealMqtt,
  signToken,
  TxBatchSchema,
  tokenHash,
  topic,
  uuidv7,
} from '@opg/protocol'
import type { Test } from 'tap'
import { reconcilerPort } from '../../src/api/adapters.js'
import type { LogItemResult } from '../../src/api/ports.js'
import type { Db } from '../../src/db/types.js'
import { BatchProcessor } from '../../src/ingest/processor.js'
import { accounts, balance, checkInvariants, transfer } from '../../src/ledger/index.js'
import { ledgerPort, smsOutboxNotifier, walletsTableFreezer } from '../../src/reconcile/adapters.js'
import { Reconciler } from '../../src/reconcile/reconciler.js'
import { listRefused } from '../../src/refused/store.js'
import { InlineVerifier } from '../../src/verify/pool.js'
import { seedTenant } from '../support/databases.js'
import { c, makeIssuer, TestWallet } from '../verify/fixtures.js'

const H = 3600_000
export const CURRENCY = 'EUR'

export interface Shop {
  merchantId: string
  deviceId: string
  secret: Uint8Array
}

/** A token a box took and gave a receipt for. */
export interface Receipt {
  merchantId: string
  amount: number
}

export async function arena(db: Db) {
  const tenantId = await seedTenant(db, { currency: CURRENCY })
  const issuer = makeIssuer()
  let now = Date.now()
  const clock = () => now
  const reconciler = new Reconciler({
    db,
    ledger: ledgerPort(),
    notifier: smsOutboxNotifier(),
    wallets: walletsTableFreezer(),
    clock,
  })
  const shops = new Map<string, Shop>()
  const verifier = new InlineVerifier()
  const processor = new BatchProcessor({
    db,
    reconciler,
    verifier,
    devices: {
      async lookup(tid, deviceId) {
        const s = [...shops.values()].find((x) => x.deviceId === deviceId)
        return s && tid === tenantId
          ? { tenantId, deviceId, merchantId: s.merchantId, secret: s.secret, revoked: false }
          : null
      },
      async recordStatus() {},
      async recordOffline() {
        return true
      },
    },
    keyrings: { keyring: async () => issuer.keyring },
    clock,
  })
  const port = reconcilerPort({
    db,
    reconciler,
    verifier,
    issuer: {
      keyring: async () => issuer.keyring,
      signer: async () => {
        throw new Error('no signing in the arena')
      },
    },
    clock,
    graceS: reconciler.config.purseGraceSeconds,
  })
  const receipts: Receipt[] = []

  const a = {
    tenantId,
    issuer,
    db,
    reconciler,
    receipts,
    now: clock,
    advance: (ms: number) => {
      now += ms
    },

    /** A merchant with one registered box. */
    async shop(name: string): Promise<Shop> {
      const s = { merchantId: newId8(c), deviceId: newId8(c), secret: new Uint8Array(randomBytes(16)) }
      await db.query('INSERT INTO merchants (tenant_id, id, name) VALUES ($1, $2, $3)', [
        tenantId,
        s.merchantId,
        name,
      ])
      await db.query(
        'INSERT INTO devices (tenant_id, id, merchant_id, sealed_secret) VALUES ($1, $2, $3, $4)',
        [tenantId, s.deviceId, s.merchantId, randomBytes(32)],
      )
      shops.set(name, s)
      return s
    },

    /** A registered wallet whose purse of `purse` is escrowed, with `balance` left available beside it. */
    async wallet(purse: number, opts: { balance?: number; counterBase?: number } = {}): Promise<TestWallet> {
      const w = new TestWallet(issuer, { purse, currency: CURRENCY, counterBase: opts.counterBase ?? 0 })
      await db.query(
        'INSERT INTO wallets (tenant_id, id, public_key, phone, currency) VALUES ($1, $2, $3, $4, $5)',
        [tenantId, w.id, w.keys.publicKey, '+15550001234', CURRENCY],
      )
      await db.transaction(async (tx) => {
        await transfer(tx, {
          ref: `arena:${w.id}:topup`,
          tenantId,
          from: accounts.suspense(tenantId, CURRENCY),
          to: accounts.walletAvailable(tenantId, w.id, CURRENCY),
          amount: BigInt(purse + (opts.balance ?? 0)),
        })
        await transfer(tx, {
          ref: `arena:${w.id}:purse`,
          tenantId,
          from: accounts.walletAvailable(tenantId, w.id, CURRENCY),
          to: accounts.purseEscrow(tenantId, w.id, CURRENCY),
          amount: BigInt(purse),
        })
      })
      return w
    },

    /** Sign exactly these fields (an attacker's wallet can sign anything): tx id, counter and chain link chosen. */
    sign(
      w: TestWallet,
      to: Shop,
      amount: number,
      o: { txId?: string; counter: number; prevHash?: Uint8Array },
    ): PaymentToken {
      return signToken(c, w.keys.secretKey, w.cert, {
        txId: o.txId ?? uuidv7(c),
        merchantId: to.merchantId,
        deviceId: to.deviceId,
        amount,
        counter: o.counter,
        prevHash: o.prevHash ?? chainStart(c, w.cert),
        walletTime: Math.floor(now / 1000),
      })
    },
    link: (t: PaymentToken) => tokenHash(c, t),

    /**
     * The box took these tokens (LED green, receipt printed: the merchant holds a receipt for each) and uploads
     * them in one sealed batch. Returns the bridge's ack.
     */
    async box(s: Shop, tokens: { bytes: Uint8Array; amount?: number }[], opts: { receipted?: boolean } = {}) {
      const t = topic(tenantId, s.deviceId, 'up/tx')
      const key = deriveKey(c, s.secret, 'mqtt', id8ToBytes(s.deviceId))
      const payload = sealMqtt(c, key, t, TxBatchSchema, {
        v: 1,
        batch: uuidv7(c),
        records: tokens.map((x) => ({
          token: x.bytes,
          receipt: new Uint8Array(110),
          channel: 'qr' as const,
          acceptedAt: now,
        })),
      })
      const r = await processor.process(t, payload)
      if (r.kind !== 'batch') throw new Error(`batch dropped: ${JSON.stringify(r)}`)
      if (opts.receipted !== false) {
        for (const x of tokens)
          if (x.amount !== undefined) receipts.push({ merchantId: s.merchantId, amount: x.amount })
      }
      const ack: Ack = openMqtt(c, key, r.ackTopic, AckSchema, r.ackPayload)
      return ack
    },

    /** The wallet uploads its signed log. */
    walletLog: (w: TestWallet, tokens: Uint8Array[]): Promise<LogItemResult[]> =>
      port.uploadPayerLog(tenantId, w.id, tokens),

    /** Move past hold, purse expiry and grace, and sweep: holds approve, purses release and pay what is owed. */
    async endOfPurses() {
      now += 72 * H * 2 + 10 * 60_000
      return reconciler.sweepOnce()
    },

    bal: async (
      kind: 'merchant_wallet' | 'merchant_held' | 'wallet_available' | 'purse_escrow',
      owner: string,
    ) => {
      const acc =
        kind === 'merchant_wallet'
          ? accounts.merchantWallet(tenantId, owner, CURRENCY)
          : kind === 'merchant_held'
            ? accounts.merchantHeld(tenantId, owner, CURRENCY)
            : kind === 'wallet_available'
              ? accounts.walletAvailable(tenantId, owner, CURRENCY)
              : accounts.purseEscrow(tenantId, owner, CURRENCY)
      return Number(await balance(db, acc))
    },

    refused: () => listRefused(db, tenantId, { limit: 500 }),

    async frozen(walletId: string): Promise<boolean> {
      const { rows } = await db.query<{ frozen: boolean }>(
        'SELECT frozen FROM wallets WHERE tenant_id = $1 AND id = $2',
        [tenantId, walletId],
      )
      return rows[0]?.frozen === true
    },

    /**
     * What every attack ends with: the ledger balances; each merchant has been credited what its receipts say,
     * except what is listed as `unfunded` against a refused token (and alerted); every refused token is kept
     * with a reason and its bytes.
     */
    async check(t: Test, expectRefused: number): Promise<void> {
      t.same(await checkInvariants(db, tenantId), [], 'the ledger balances to zero')
      const refused = await a.refused()
      t.equal(refused.length, expectRefused, 'every refused token is stored')
      t.ok(
        refused.every((r) => r.reason.length > 0 && r.token.length > 0),
        'each with its reason and raw bytes',
      )
      const owed = new Map<string, number>()
      for (const r of receipts) owed.set(r.merchantId, (owed.get(r.merchantId) ?? 0) + r.amount)
      for (const [merchantId, amount] of owed) {
        const got = (await a.bal('merchant_wallet', merchantId)) + (await a.bal('merchant_held', merchantId))
        const unfunded = refused
          .filter((r) => r.merchantId === merchantId)
          .reduce((n, r) => n + r.unfunded, 0)
        t.equal(got + unfunded, amount, `merchant ${merchantId}: paid ${got}, listed unfunded ${unfunded}`)
      }
      const alerts = await db.query<{ n: bigint }>(
        `SELECT count(*) AS n FROM operator_alerts WHERE tenant_id = $1 AND kind = 'unfunded'`,
        [tenantId],
      )
      t.equal(
        Number(alerts.rows[0]?.n ?? 0n),
        refused.filter((r) => r.unfunded > 0).length,
        'every unfunded loss is alerted',
      )
    },
  }
  return a
}

export type Arena = Awaited<ReturnType<typeof arena>>
