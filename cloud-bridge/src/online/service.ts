/**
 * Online payments, merchant and customer both online (seed case 1), and the notice to an offline box (case 3):
 * - invoices paid by credit or debit card (provider port; money due to the merchant's bank:
 *   card_clearing → merchant_bank_payable) or from the wallet balance (wallet_available → merchant_bank_payable);
 * - wallet top-up by card (card_clearing → wallet_available);
 * - wallet → merchant QR transfer (wallet_available → merchant_wallet).
 * Every request carries a client idempotency key: a repeat returns the first payment and charges nothing;
 * the same key with a different request is `idempotency_conflict`. A declined card moves no money.
 */
import { createHash } from 'node:crypto'
import type { CryptoBackend } from '@opg/protocol'
import { newId } from '../db/ids.js'
import type { Db, Tx } from '../db/types.js'
import type { SecretSealer } from '../issuer/master-key.js'
import { accounts, isLedgerError, transfer } from '../ledger/index.js'
import { OnlineError } from './errors.js'
import { type BoxLink, fallBackToSms, type PendingPublish, recordNotice } from './notices.js'
import {
  type ChargeFailure,
  type PaymentProvider,
  ProviderError,
  type ProviderEvent,
  verifyWebhook,
} from './provider.js'

export interface Invoice {
  id: string
  merchantId: string
  deviceId: string | null
  reference: string
  amount: bigint
  currency: string
  status: 'open' | 'paid'
  expiresAt: Date
  paidAt: Date | null
  paymentId: string | null
}

export interface OnlinePayment {
  id: string
  kind: 'invoice' | 'topup' | 'transfer'
  method: 'card' | 'debit' | 'wallet'
  status: 'pending' | 'succeeded' | 'failed'
  failureCode: string | null
  amount: bigint
  currency: string
  invoiceId: string | null
  walletId: string | null
  merchantId: string | null
  deviceId: string | null
}

export interface OnlineDeps {
  db: Db
  provider: PaymentProvider
  c: CryptoBackend
  sealer: SecretSealer
  /** MQTT link to boxes; null when the bridge runs without a broker (notices then go by SMS). */
  link: BoxLink | null
  webhookSecret: string
  now: () => Date
}

type PaymentRow = {
  id: string
  kind: OnlinePayment['kind']
  method: OnlinePayment['method']
  status: OnlinePayment['status']
  failure_code: string | null
  amount: bigint
  currency: string
  invoice_id: string | null
  wallet_id: string | null
  merchant_id: string | null
  device_id: string | null
  request_hash: string
  provider_ref: string | null
  tenant_id: string
}

const toPayment = (r: PaymentRow): OnlinePayment => ({
  id: r.id,
  kind: r.kind,
  method: r.method,
  status: r.status,
  failureCode: r.failure_code,
  amount: r.amount,
  currency: r.currency,
  invoiceId: r.invoice_id,
  walletId: r.wallet_id,
  merchantId: r.merchant_id,
  deviceId: r.device_id,
})

type InvoiceRow = {
  id: string
  merchant_id: string
  device_id: string | null
  reference: string
  amount: bigint
  currency: string
  status: 'open' | 'paid'
  expires_at: Date
  paid_at: Date | null
  payment_id: string | null
}

const toInvoice = (r: InvoiceRow): Invoice => ({
  id: r.id,
  merchantId: r.merchant_id,
  deviceId: r.device_id,
  reference: r.reference,
  amount: r.amount,
  currency: r.currency,
  status: r.status,
  expiresAt: r.expires_at,
  paidAt: r.paid_at,
  paymentId: r.payment_id,
})

const hashRequest = (o: Record<string, unknown>) =>
  createHash('sha256')
    .update(JSON.stringify(o, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)))
    .digest('hex')

const FAILURES: Record<ChargeFailure, OnlineError['code']> = {
  card_declined: 'card_declined',
  insufficient_funds: 'insufficient_funds',
  expired_card: 'expired_card',
  provider_unavailable: 'provider_unavailable',
}

/** Online payments service. Constructing it does no I/O. */
export class OnlinePayments {
  constructor(private readonly d: OnlineDeps) {}

  async createInvoice(
    tenantId: string,
    i: {
      merchantId: string
      deviceId?: string | null
      reference: string
      amount: bigint
      currency: string
      expiresInSeconds: number
    },
  ): Promise<Invoice> {
    const id = newId()
    const expires = new Date(this.d.now().getTime() + i.expiresInSeconds * 1000)
    const m = await this.d.db.query('SELECT 1 FROM merchants WHERE tenant_id = $1 AND id = $2', [
      tenantId,
      i.merchantId,
    ])
    if (m.rowCount === 0) throw new OnlineError('unknown_party', 'no such merchant')
    if (i.deviceId) {
      const dv = await this.d.db.query(
        'SELECT 1 FROM devices WHERE tenant_id = $1 AND id = $2 AND merchant_id = $3',
        [tenantId, i.deviceId, i.merchantId],
      )
      if (dv.rowCount === 0) throw new OnlineError('unknown_party', 'no such device for this merchant')
    }
    const { rows } = await this.d.db.query<InvoiceRow>(
      `INSERT INTO invoices (tenant_id, id, merchant_id, device_id, reference, amount, currency, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
      [tenantId, id, i.merchantId, i.deviceId ?? null, i.reference, i.amount, i.currency, expires],
    )
    return toInvoice(rows[0]!)
  }

  async getInvoice(tenantId: string, id: string): Promise<Invoice> {
    const { rows } = await this.d.db.query<InvoiceRow>(
      'SELECT * FROM invoices WHERE tenant_id = $1 AND id = $2',
      [tenantId, id],
    )
    if (!rows[0]) throw new OnlineError('invoice_not_found', 'no such invoice')
    return toInvoice(rows[0])
  }

  async getPayment(tenantId: string, id: string): Promise<OnlinePayment> {
    const { rows } = await this.d.db.query<PaymentRow>(
      'SELECT * FROM online_payments WHERE tenant_id = $1 AND id = $2',
      [tenantId, id],
    )
    if (!rows[0]) throw new OnlineError('payment_not_found', 'no such payment')
    return toPayment(rows[0])
  }

  /** Pay an invoice by card (provider token) or from a wallet's balance. */
  async payInvoice(
    tenantId: string,
    invoiceId: string,
    p:
      | { method: 'card'; cardToken: string; idempotencyKey: string }
      | { method: 'wallet'; walletId: string; idempotencyKey: string },
  ): Promise<OnlinePayment> {
    const request = { op: 'invoice', invoiceId, ...p }
    if (p.method === 'wallet') {
      return this.walletMove(tenantId, p.walletId, p.idempotencyKey, request, async (tx, paymentId) => {
        const inv = await this.lockOpenInvoice(tx, tenantId, invoiceId)
        return {
          kind: 'invoice' as const,
          amount: inv.amount,
          currency: inv.currency,
          invoice: inv,
          merchantId: inv.merchant_id,
          deviceId: inv.device_id,
          credit: accounts.merchantBankPayable(tenantId, inv.merchant_id, inv.currency),
          paymentId,
        }
      })
    }
    return this.cardCharge(tenantId, p.idempotencyKey, request, p.cardToken, async (tx) => {
      const inv = await this.lockOpenInvoice(tx, tenantId, invoiceId)
      return {
        kind: 'invoice' as const,
        amount: inv.amount,
        currency: inv.currency,
        invoiceId,
        merchantId: inv.merchant_id,
        deviceId: inv.device_id,
        walletId: null,
      }
    })
  }

  /** Top up a wallet by card: the money lands in wallet_available once the provider confirms. */
  async topUp(
    tenantId: string,
    walletId: string,
    p: { amount: bigint; currency: string; cardToken: string; idempotencyKey: string },
  ): Promise<OnlinePayment> {
    const request = { op: 'topup', walletId, amount: p.amount, currency: p.currency, cardToken: p.cardToken }
    return this.cardCharge(tenantId, p.idempotencyKey, request, p.cardToken, async (tx) => {
      await this.activeWallet(tx, tenantId, walletId)
      return {
        kind: 'topup' as const,
        amount: p.amount,
        currency: p.currency,
        invoiceId: null,
        merchantId: null,
        deviceId: null,
        walletId,
      }
    })
  }

  /** Wallet → merchant transfer from the merchant's sticker QR: lands in the merchant's wallet. */
  async transfer(
    tenantId: string,
    walletId: string,
    p: {
      merchantId: string
      deviceId?: string | null
      amount: bigint
      currency: string
      reference?: string
      idempotencyKey: string
    },
  ): Promise<OnlinePayment> {
    const request = { op: 'transfer', walletId, ...p }
    return this.walletMove(tenantId, walletId, p.idempotencyKey, request, async (tx, paymentId) => {
      const m = await tx.query('SELECT 1 FROM merchants WHERE tenant_id = $1 AND id = $2', [
        tenantId,
        p.merchantId,
      ])
      if (m.rowCount === 0) throw new OnlineError('unknown_party', 'no such merchant')
      if (p.deviceId) {
        const dv = await tx.query(
          'SELECT 1 FROM devices WHERE tenant_id = $1 AND id = $2 AND merchant_id = $3',
          [tenantId, p.deviceId, p.merchantId],
        )
        if (dv.rowCount === 0) throw new OnlineError('unknown_party', 'no such device for this merchant')
      }
      return {
        kind: 'transfer' as const,
        amount: p.amount,
        currency: p.currency,
        invoice: null,
        merchantId: p.merchantId,
        deviceId: p.deviceId ?? null,
        credit: accounts.merchantWallet(tenantId, p.merchantId, p.currency),
        paymentId,
        reference: p.reference ?? `TR-${paymentId.slice(0, 8)}`,
      }
    })
  }

  /** A provider webhook (raw body + signature header). Duplicates and re-deliveries are harmless. */
  async handleWebhook(body: string, signature: string | undefined): Promise<void> {
    const ev = verifyWebhook(this.d.webhookSecret, body, signature, Math.floor(this.d.now().getTime() / 1000))
    await this.applyEvent(ev)
  }

  private async applyEvent(ev: ProviderEvent): Promise<void> {
    const publishes: Array<{ tenantId: string; paymentId: string; p: PendingPublish }> = []
    await this.d.db.transaction(async (tx) => {
      // The reference is "<tenant>:<payment id>": the webhook may arrive before charge() has returned.
      const [tenantId, paymentId] = ev.reference.split(':')
      const { rows } = await tx.query<PaymentRow>(
        'SELECT * FROM online_payments WHERE tenant_id = $1 AND id = $2 FOR UPDATE',
        [tenantId, paymentId],
      )
      const r = rows[0]
      if (r?.status !== 'pending') return
      if (r.provider_ref && r.provider_ref !== ev.providerRef) return
      if (ev.type === 'charge.failed') {
        await tx.query(
          `UPDATE online_payments SET status = 'failed', failure_code = $3, settled_at = $4, provider_ref = $5
           WHERE tenant_id = $1 AND id = $2`,
          [r.tenant_id, r.id, ev.failure ?? 'card_declined', this.d.now(), ev.providerRef],
        )
        return
      }
      const method = ev.funding === 'debit' ? 'debit' : 'card'
      const clearing = accounts.cardClearing(r.tenant_id, r.currency)
      if (r.kind === 'topup') {
        await transfer(tx, {
          ref: `online:${r.id}`,
          tenantId: r.tenant_id,
          memo: `top-up by ${method}`,
          from: clearing,
          to: accounts.walletAvailable(r.tenant_id, r.wallet_id!, r.currency),
          amount: r.amount,
        })
      } else {
        await transfer(tx, {
          ref: `online:${r.id}`,
          tenantId: r.tenant_id,
          memo: `invoice paid by ${method}`,
          from: clearing,
          to: accounts.merchantBankPayable(r.tenant_id, r.merchant_id!, r.currency),
          amount: r.amount,
        })
        const inv = await tx.query<InvoiceRow>(
          `UPDATE invoices SET status = 'paid', paid_at = $3, payment_id = $4 WHERE tenant_id = $1 AND id = $2 RETURNING *`,
          [r.tenant_id, r.invoice_id, this.d.now(), r.id],
        )
        const i = inv.rows[0]!
        if (i.device_id) {
          const p = await this.notice(
            tx,
            r.tenant_id,
            r.id,
            i.merchant_id,
            i.device_id,
            i.reference,
            r.amount,
            r.currency,
          )
          if (p) publishes.push({ tenantId: r.tenant_id, paymentId: r.id, p })
        }
      }
      await tx.query(
        `UPDATE online_payments SET status = 'succeeded', method = $3, settled_at = $4, provider_ref = $5
         WHERE tenant_id = $1 AND id = $2`,
        [r.tenant_id, r.id, method, this.d.now(), ev.providerRef],
      )
    })
    await this.publishAll(publishes)
  }

  private notice(
    tx: Tx,
    tenantId: string,
    paymentId: string,
    merchantId: string,
    deviceId: string,
    reference: string,
    amount: bigint,
    currency: string,
  ) {
    return recordNotice(tx, this.d, {
      tenantId,
      deviceId,
      merchantId,
      paymentId,
      reference,
      amount,
      currency,
    })
  }

  private async publishAll(
    list: Array<{ tenantId: string; paymentId: string; p: PendingPublish }>,
  ): Promise<void> {
    for (const { tenantId, paymentId, p } of list) {
      try {
        if (!this.d.link) throw new Error('no broker link')
        await this.d.link.publish(p.topic, p.payload)
      } catch {
        await this.d.db.transaction((tx) => fallBackToSms(tx, this.d, tenantId, paymentId))
      }
    }
  }

  private async lockOpenInvoice(tx: Tx, tenantId: string, invoiceId: string): Promise<InvoiceRow> {
    const { rows } = await tx.query<InvoiceRow>(
      'SELECT * FROM invoices WHERE tenant_id = $1 AND id = $2 FOR UPDATE',
      [tenantId, invoiceId],
    )
    const inv = rows[0]
    if (!inv) throw new OnlineError('invoice_not_found', 'no such invoice')
    if (inv.status === 'paid') throw new OnlineError('invoice_paid', 'invoice already paid')
    if (inv.expires_at.getTime() <= this.d.now().getTime())
      throw new OnlineError('invoice_expired', 'invoice expired')
    const busy = await tx.query(
      `SELECT 1 FROM online_payments WHERE tenant_id = $1 AND invoice_id = $2 AND status = 'pending'`,
      [tenantId, invoiceId],
    )
    if (busy.rowCount > 0) throw new OnlineError('invoice_paid', 'a payment of this invoice is in progress')
    return inv
  }

  private async activeWallet(tx: Tx, tenantId: string, walletId: string): Promise<void> {
    const w = await tx.query<{ frozen: boolean }>(
      'SELECT frozen FROM wallets WHERE tenant_id = $1 AND id = $2',
      [tenantId, walletId],
    )
    if (!w.rows[0]) throw new OnlineError('unknown_party', 'no such wallet')
    if (w.rows[0].frozen) throw new OnlineError('wallet_frozen', 'wallet is frozen')
  }

  /** An earlier payment with this key: the same one if the request matches, a conflict if not. */
  private async replay(tx: Tx, tenantId: string, key: string, hash: string): Promise<PaymentRow | null> {
    // Serialise concurrent requests with one key, so a double submission waits for the first and replays it.
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`online:${tenantId}:${key}`])
    const { rows } = await tx.query<PaymentRow>(
      'SELECT * FROM online_payments WHERE tenant_id = $1 AND idempotency_key = $2 FOR UPDATE',
      [tenantId, key],
    )
    const r = rows[0]
    if (!r) return null
    if (r.request_hash !== hash)
      throw new OnlineError('idempotency_conflict', 'idempotency key used for another request')
    return r
  }

  private async walletMove(
    tenantId: string,
    walletId: string,
    key: string,
    request: Record<string, unknown>,
    plan: (
      tx: Tx,
      paymentId: string,
    ) => Promise<{
      kind: 'invoice' | 'transfer'
      amount: bigint
      currency: string
      invoice: InvoiceRow | null
      merchantId: string
      deviceId: string | null
      credit: ReturnType<typeof accounts.merchantWallet>
      paymentId: string
      reference?: string
    }>,
  ): Promise<OnlinePayment> {
    const hash = hashRequest(request)
    const publishes: Array<{ tenantId: string; paymentId: string; p: PendingPublish }> = []
    const payment = await this.d.db.transaction(async (tx) => {
      const seen = await this.replay(tx, tenantId, key, hash)
      if (seen) return toPayment(seen)
      await this.activeWallet(tx, tenantId, walletId)
      const id = newId()
      const m = await plan(tx, id)
      try {
        await tx.savepoint((sp) =>
          transfer(sp, {
            ref: `online:${id}`,
            tenantId,
            memo: m.kind === 'invoice' ? 'invoice paid from wallet' : 'wallet to merchant transfer',
            from: accounts.walletAvailable(tenantId, walletId, m.currency),
            to: m.credit,
            amount: m.amount,
          }),
        )
      } catch (err) {
        if (isLedgerError(err, 'insufficient_funds')) {
          throw new OnlineError('insufficient_funds', 'wallet balance too low', { cause: err })
        }
        throw err
      }
      const { rows } = await tx.query<PaymentRow>(
        `INSERT INTO online_payments (tenant_id, id, idempotency_key, request_hash, kind, method, amount, currency,
           invoice_id, wallet_id, merchant_id, device_id, status, settled_at)
         VALUES ($1, $2, $3, $4, $5, 'wallet', $6, $7, $8, $9, $10, $11, 'succeeded', $12) RETURNING *`,
        [
          tenantId,
          id,
          key,
          hash,
          m.kind,
          m.amount,
          m.currency,
          m.invoice?.id ?? null,
          walletId,
          m.merchantId,
          m.deviceId,
          this.d.now(),
        ],
      )
      let reference = m.reference ?? ''
      if (m.invoice) {
        await tx.query(
          `UPDATE invoices SET status = 'paid', paid_at = $3, payment_id = $4 WHERE tenant_id = $1 AND id = $2`,
          [tenantId, m.invoice.id, this.d.now(), id],
        )
        reference = m.invoice.reference
      }
      if (m.deviceId) {
        const p = await this.notice(
          tx,
          tenantId,
          id,
          m.merchantId,
          m.deviceId,
          reference,
          m.amount,
          m.currency,
        )
        if (p) publishes.push({ tenantId, paymentId: id, p })
      }
      return toPayment(rows[0]!)
    })
    await this.publishAll(publishes)
    return payment
  }

  private async cardCharge(
    tenantId: string,
    key: string,
    request: Record<string, unknown>,
    cardToken: string,
    plan: (tx: Tx) => Promise<{
      kind: 'invoice' | 'topup'
      amount: bigint
      currency: string
      invoiceId: string | null
      merchantId: string | null
      deviceId: string | null
      walletId: string | null
    }>,
  ): Promise<OnlinePayment> {
    const hash = hashRequest(request)
    const row = await this.d.db.transaction(async (tx) => {
      const seen = await this.replay(tx, tenantId, key, hash)
      if (seen && !(seen.status === 'failed' && seen.failure_code === 'provider_unavailable'))
        return { row: seen, charge: false }
      if (seen) {
        // The provider was down last time: this retry charges again under the same provider idempotency key.
        const { rows } = await tx.query<PaymentRow>(
          `UPDATE online_payments SET status = 'pending', failure_code = NULL WHERE tenant_id = $1 AND id = $2 RETURNING *`,
          [tenantId, seen.id],
        )
        return { row: rows[0]!, charge: true }
      }
      const m = await plan(tx)
      const { rows } = await tx.query<PaymentRow>(
        `INSERT INTO online_payments (tenant_id, id, idempotency_key, request_hash, kind, method, amount, currency,
           invoice_id, wallet_id, merchant_id, device_id, status)
         VALUES ($1, $2, $3, $4, $5, 'card', $6, $7, $8, $9, $10, $11, 'pending') RETURNING *`,
        [
          tenantId,
          newId(),
          key,
          hash,
          m.kind,
          m.amount,
          m.currency,
          m.invoiceId,
          m.walletId,
          m.merchantId,
          m.deviceId,
        ],
      )
      return { row: rows[0]!, charge: true }
    })
    if (!row.charge) return toPayment(row.row)
    const p = row.row
    try {
      const res = await this.d.provider.charge({
        token: cardToken,
        amount: p.amount,
        currency: p.currency,
        idempotencyKey: `${tenantId}:${p.id}`,
        reference: `${tenantId}:${p.id}`,
        description: `${p.kind} ${p.id}`,
      })
      await this.d.db.query(
        'UPDATE online_payments SET provider_ref = COALESCE(provider_ref, $3) WHERE tenant_id = $1 AND id = $2',
        [tenantId, p.id, res.providerRef],
      )
      if (res.status !== 'pending') {
        await this.applyEvent({
          id: `sync:${res.providerRef}`,
          type: res.status === 'succeeded' ? 'charge.succeeded' : 'charge.failed',
          providerRef: res.providerRef,
          reference: `${tenantId}:${p.id}`,
          funding: res.funding,
          ...(res.failure ? { failure: res.failure } : {}),
        })
      }
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err
      await this.d.db.query(
        `UPDATE online_payments SET status = 'failed', failure_code = 'provider_unavailable' WHERE tenant_id = $1 AND id = $2`,
        [tenantId, p.id],
      )
      throw new OnlineError(
        'provider_unavailable',
        'the card provider is unavailable; retry with the same key',
        {
          cause: err,
        },
      )
    }
    return this.getPayment(tenantId, p.id)
  }

  /** Wait for a pending card payment to settle (webhook) — for CLIs and tests; polls the database. */
  async waitSettled(tenantId: string, id: string, timeoutMs = 5000): Promise<OnlinePayment> {
    const end = Date.now() + timeoutMs
    for (;;) {
      const p = await this.getPayment(tenantId, id)
      if (p.status !== 'pending' || Date.now() > end) return p
      await new Promise((r) => setTimeout(r, 20))
    }
  }
}

/** The error a failed card payment means to the customer. */
export function failureError(p: OnlinePayment): OnlineError | null {
  if (p.status !== 'failed') return null
  const code = FAILURES[(p.failureCode ?? 'card_declined') as ChargeFailure] ?? 'card_declined'
  return new OnlineError(code, `payment failed: ${p.failureCode}`)
}
