/**
 * Adapters from the API's ports (ports.ts) to the bridge's real modules: the issuer key store
 * (src/issuer), reconciliation with token verification (src/reconcile, src/verify) and the sandbox SMS
 * messages. Each maps the other module's errors to the API's codes, keeping the original as `cause`.
 */
import { type CryptoBackend, issueNodeCertificate, issueWalletCertificate } from '@opg/protocol'
import type { Db } from '../db/types.js'
import { activeIssuer, isIssuerError, issuerKeyring, type SecretSealer } from '../issuer/index.js'
import type { Reconciler } from '../reconcile/reconciler.js'
import { rowToPayment } from '../reconcile/store.js'
import {
  type PaymentRecord,
  ReconcileError,
  type RefusedRecord,
  type TokenFacts,
} from '../reconcile/types.js'
import { describeRefused } from '../refused/store.js'
import type { SandboxSmsProvider } from '../sms/index.js'
import type { TokenVerifier } from '../verify/pool.js'
import { BridgeError, type BridgeErrorCode } from './errors.js'
import type {
  CertSigner,
  IssuerPort,
  LogItemResult,
  PaymentStatus,
  PaymentView,
  ReconcilerPort,
  SmsPort,
} from './ports.js'

/** The issuer port over the tenant's stored issuer keys. */
export function issuerPort(db: Db, d: { c: CryptoBackend; sealer: SecretSealer }): IssuerPort {
  return {
    async signer(tenantId): Promise<CertSigner> {
      let key: Awaited<ReturnType<typeof activeIssuer>>
      try {
        key = await activeIssuer(db, d, tenantId)
      } catch (err) {
        if (isIssuerError(err, 'no_issuer'))
          throw new BridgeError('not_configured', 'no issuer key', { cause: err })
        throw err
      }
      return {
        keyId: key.keyId,
        walletCertificate: (f) =>
          issueWalletCertificate(d.c, key, {
            walletId: f.walletId,
            publicKey: f.publicKey,
            perPaymentLimit: Number(f.perPaymentLimit),
            purseAmount: Number(f.purseAmount),
            currency: f.currency,
            counterBase: Number(f.counterBase),
            issuedAt: f.issuedAt,
            expiresAt: f.expiresAt,
          }).bytes,
        nodeCertificate: (f) => issueNodeCertificate(d.c, key, f).bytes,
      }
    },
    keyring: (tenantId) => issuerKeyring(db, tenantId),
  }
}

const STATUS: Record<PaymentRecord['state'], PaymentStatus> = {
  held: 'held',
  confirmed: 'confirmed',
  approved: 'auto_approved',
  disputed: 'claimed',
  reversed: 'reversed',
  upheld: 'upheld',
  double_spend: 'double_spend',
  unfunded: 'unfunded',
}

const STATE_OF = Object.fromEntries(
  Object.entries(STATUS).map(([state, status]) => [status, state]),
) as Record<PaymentStatus, PaymentRecord['state']>

function paymentView(p: PaymentRecord): PaymentView {
  return {
    txId: p.txId,
    walletId: p.walletId,
    merchantId: p.merchantId,
    deviceId: p.deviceId,
    amount: BigInt(p.amount),
    currency: p.currency,
    counter: BigInt(p.counter),
    status: STATUS[p.state],
    firstSeenAt: new Date(p.firstReceivedAt),
    holdUntil: p.state === 'held' && p.holdUntil !== null ? new Date(p.holdUntil) : null,
  }
}

const RECONCILE_CODES: Record<string, BridgeErrorCode> = {
  not_found: 'not_found',
  wrong_wallet: 'not_found',
  not_claimable: 'claim_not_allowed',
  claim_window_closed: 'claim_not_allowed',
  already_disputed: 'conflict',
  not_disputed: 'claim_closed',
}

async function mapped<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof ReconcileError) {
      throw new BridgeError(RECONCILE_CODES[err.code] ?? 'conflict', err.message, { cause: err })
    }
    throw err
  }
}

/** The merchants (ids) and devices (id → merchant id) of this tenant that tokens name. */
async function namedParties(
  db: Db,
  tenantId: string,
  facts: { merchantId: string; deviceId: string }[],
): Promise<{ merchants: Set<string>; devices: Map<string, string> }> {
  if (facts.length === 0) return { merchants: new Set(), devices: new Map() }
  const m = await db.query<{ id: string }>(
    'SELECT id FROM merchants WHERE tenant_id = $1 AND id = ANY($2::text[])',
    [tenantId, [...new Set(facts.map((f) => f.merchantId))]],
  )
  const dv = await db.query<{ id: string; merchant_id: string }>(
    'SELECT id, merchant_id FROM devices WHERE tenant_id = $1 AND id = ANY($2::text[])',
    [tenantId, [...new Set(facts.map((f) => f.deviceId))]],
  )
  return {
    merchants: new Set(m.rows.map((r) => r.id)),
    devices: new Map(dv.rows.map((r) => [r.id, r.merchant_id])),
  }
}

/** What the reconciliation adapter needs. */
export interface ReconcilerAdapterDeps {
  db: Db
  reconciler: Reconciler
  verifier: TokenVerifier
  issuer: IssuerPort
  /** Bridge clock, ms. */
  clock: () => number
  /** Seconds after a certificate's expiry during which its tokens are still accepted. */
  graceS: number
}

/** The reconciliation port: payer log upload through verification, claims, and payment reads. */
export function reconcilerPort(d: ReconcilerAdapterDeps): ReconcilerPort {
  const list = async (sql: string, params: unknown[]) =>
    (await d.db.query(sql, params)).rows.map((r) => paymentView(rowToPayment(r)))
  return {
    async uploadPayerLog(tenantId, walletId, tokens): Promise<LogItemResult[]> {
      const ctx = {
        tenantId,
        issuerKeys: await d.issuer.keyring(tenantId),
        nowS: Math.floor(d.clock() / 1000),
        graceS: d.graceS,
      }
      const verified = await d.verifier.verify(tokens, ctx)
      const at = d.clock()
      // Checked like a box batch: the merchant and device a token names exist in this tenant and belong together.
      const named = await namedParties(
        d.db,
        tenantId,
        verified.flatMap((v) => (v.ok ? [v.facts] : [])),
      )
      const facts: TokenFacts[] = []
      const refusals: RefusedRecord[] = []
      const refusedAt = new Map<number, string>()
      const refuse = (i: number, tokenId: string, reason: string, valid: boolean) => {
        refusedAt.set(i, reason)
        refusals.push(
          describeRefused({
            tenantId,
            tokenId,
            token: tokens[i]!,
            reason,
            source: 'wallet_log',
            receivedFrom: walletId,
            valid,
            at,
          }),
        )
      }
      for (const [i, v] of verified.entries()) {
        if (!v.ok) refuse(i, v.tokenHash, v.code, false)
        else if (v.facts.walletId !== walletId) refuse(i, v.facts.tokenHash, 'wrong_wallet', true)
        else if (!named.merchants.has(v.facts.merchantId))
          refuse(i, v.facts.tokenHash, 'wrong_merchant', true)
        else if (named.devices.get(v.facts.deviceId) !== v.facts.merchantId) {
          refuse(i, v.facts.tokenHash, 'wrong_device', true)
        } else facts.push({ ...v.facts, token: tokens[i]! })
      }
      const outcomes =
        facts.length > 0 || refusals.length > 0
          ? await d.reconciler.recordPayerTokens(tenantId, walletId, facts, refusals)
          : []
      let next = 0
      return verified.map((v, index): LogItemResult => {
        const txId = v.ok ? v.facts.txId : v.txId
        const code = refusedAt.get(index)
        if (code !== undefined) return { index, txId, outcome: 'rejected', status: null, code }
        const o = outcomes[next++]
        if (!o || o.status === 'rejected' || o.status === 'refused') {
          return { index, txId, outcome: 'rejected', status: null, code: o?.code ?? 'rejected' }
        }
        return {
          index,
          txId: o.txId,
          outcome: o.status === 'stored' ? 'accepted' : 'duplicate',
          status: STATUS[o.state],
          code: null,
        }
      })
    },
    dispute: (tenantId, walletId, txId, reason, tx) =>
      mapped(async () => {
        await d.reconciler.claimFraud({ tenantId, walletId, txId, reason }, tx)
      }),
    resolveDispute: (tenantId, txId, decision, operator, tx) =>
      mapped(async () => {
        await d.reconciler.resolveClaim({ tenantId, txId, decision, operator }, tx)
      }),
    async payment(tenantId, txId) {
      const p = await d.reconciler.getPayment(tenantId, txId)
      return p ? paymentView(p) : null
    },
    walletHistory: (tenantId, walletId, { limit }) =>
      list(
        'SELECT * FROM offline_payments WHERE tenant_id = $1 AND wallet_id = $2 ORDER BY first_received_at DESC, tx_id LIMIT $3',
        [tenantId, walletId, limit],
      ),
    merchantPayments: (tenantId, merchantId, { limit }) =>
      list(
        'SELECT * FROM offline_payments WHERE tenant_id = $1 AND merchant_id = $2 ORDER BY first_received_at DESC, tx_id LIMIT $3',
        [tenantId, merchantId, limit],
      ),
    tenantPayments(tenantId, f) {
      // Every filter is a bound parameter; NULL means "any", so one statement serves every combination.
      const state = f.status === undefined ? null : STATE_OF[f.status]
      const order = f.status === 'held' ? 'hold_until ASC, tx_id' : 'first_received_at DESC, tx_id'
      return list(
        `SELECT * FROM offline_payments WHERE tenant_id = $1
           AND ($2::text IS NULL OR state = $2) AND ($3::text IS NULL OR merchant_id = $3)
           AND ($4::text IS NULL OR device_id = $4)
         ORDER BY ${order} LIMIT $5`,
        [tenantId, state, f.merchantId ?? null, f.deviceId ?? null, f.limit],
      )
    },
  }
}

/** The sandbox SMS listing, newest first, from the sandbox provider itself. */
export function sandboxSmsPort(provider: SandboxSmsProvider): SmsPort {
  return {
    async listSandbox(tenantId, { limit }) {
      const list = await provider.list(tenantId, { limit })
      return list.map((m) => ({ id: m.id, to: m.to, body: m.body, status: m.status, createdAt: m.createdAt }))
    },
  }
}
