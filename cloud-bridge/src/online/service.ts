/**
 * Online payments, merchant and customer both online (seed case 1), and the notice to an offline box (case 3):
 * - invoices paid by credit or debit card (provider port; money due to the merchant's bank:
 *   card_clearing → merchant_bank_payable) or from the wallet balance (wallet_available → merchant_bank_payable);
 * - wallet top-up by card (card_clearing → wallet_available);
 * - wallet → merchant QR transfer (wallet_available → merchant_wallet).
 * Every request carries a client idempotency key: a repeat returns the first payment and charges nothing;
 * the same key with a different request is `idempotency_conflict`. A declined card moves no money.
 */
import type { CryptoBackend } from '@opg/protocol'
import { isUniqueViolation } from '../db/errors.js'
import { newId } from '../db/ids.js'
import type { Db, Tx } from '../db/types.js'
import type { SecretSealer } from '../issuer/master-key.js'
import { accounts, isLedgerError, transfer } from '../ledger/index.js'
import { OnlineError } from './errors.js'
import {
  activeWallet,
  lockOpenInvoice,
  replay,
  requireParty,
  sameCurrency,
  tenantCurrency,
} from './guards.js'
import { checkTopupLimits, type TopupLimits } from './limits.js'
import { type BoxLink, fallBackToSms, recordNotice } from './notices.js'
import { type PaymentProvider, ProviderError, type ProviderEvent, verifyWebhook } from './provider.js'
import {
  hashRequest,
  type Invoice,
  type InvoiceRow,
  type OnlinePayment,
  type PaymentRow,
  toInvoice,
  toPayment,
} from './records.js'
import { type BoxPublish, settleCharge } from './settle.js'

export { failureError, type Invoice, type OnlinePayment } from './records.js'

export interface OnlineDeps {
  db: Db
  provider: PaymentProvider
  c: CryptoBackend
  sealer: SecretSealer
  /** MQTT link to boxes; null when the bridge runs without a broker (notices then go by SMS). */
  link: BoxLink | null
  webhookSecret: string
  now: () => Date
  /** Default daily top-up limits (a tenant may set its own); absent → DEFAULT_TOPUP_LIMITS. */
  topupLimits?: TopupLimits
}

/** Who asks: the API key id that scopes idempotency keys ('' for calls made inside the bridge). */
export interface Caller {
  scope?: string
}

/** Online payments service. Constructing it does no I/O. */
export class OnlinePayments {
  constructor(private readonly d: OnlineDeps) {}

  /** True when the provider moves test money: every payment is then marked test (see payouts.ts). */
  get testMode(): boolean {
    return this.d.provider.testMode
  }

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
    await requireParty(this.d.db, tenantId, i.merchantId, i.deviceId)
    sameCurrency(await tenantCurrency(this.d.db, tenantId), i.currency, 'the tenant')
    try {
      const { rows } = await this.d.db.query<InvoiceRow>(
        `INSERT INTO invoices (tenant_id, id, merchant_id, device_id, reference, amount, currency, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
        [tenantId, id, i.merchantId, i.deviceId ?? null, i.reference, i.amount, i.currency, expires],
      )
      return toInvoice(rows[0]!)
    } catch (err) {
      if (isUniqueViolation(err))
        throw new OnlineError('duplicate_reference', 'the merchant already used this reference', {
          cause: err,
        })
      throw err
    }
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
      | ({ method: 'card'; cardToken: string; idempotencyKey: string } & Caller)
      | ({ method: 'wallet'; walletId: string; idempotencyKey: string } & Caller),
  ): Promise<OnlinePayment> {
    const { scope = '', ...rest } = p
    const request = { op: 'invoice', invoiceId, ...rest }
    if (p.method === 'wallet') {
      const key = { scope, key: p.idempotencyKey }
      return this.walletMove(tenantId, p.walletId, key, request, async (tx, paymentId, wallet) => {
        const inv = await lockOpenInvoice(tx, tenantId, invoiceId, this.d.now())
        sameCurrency(wallet.currency, inv.currency, 'the wallet')
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
    const key = { scope, key: p.idempotencyKey }
    return this.cardCharge(tenantId, key, request, p.cardToken, async (tx) => {
      const inv = await lockOpenInvoice(tx, tenantId, invoiceId, this.d.now())
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
    p: { amount: bigint; currency: string; cardToken: string; idempotencyKey: string } & Caller,
  ): Promise<OnlinePayment> {
    const request = { op: 'topup', walletId, amount: p.amount, currency: p.currency, cardToken: p.cardToken }
    const key = { scope: p.scope ?? '', key: p.idempotencyKey }
    return this.cardCharge(tenantId, key, request, p.cardToken, async (tx) => {
      const wallet = await activeWallet(tx, tenantId, walletId)
      sameCurrency(wallet.currency, p.currency, 'the wallet')
      await checkTopupLimits(tx, tenantId, walletId, p.amount, this.d.topupLimits)
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
    } & Caller,
  ): Promise<OnlinePayment> {
    const { scope = '', ...rest } = p
    const request = { op: 'transfer', walletId, ...rest }
    const key = { scope, key: p.idempotencyKey }
    return this.walletMove(tenantId, walletId, key, request, async (tx, paymentId, wallet) => {
      await requireParty(tx, tenantId, p.merchantId, p.deviceId)
      sameCurrency(wallet.currency, p.currency, 'the wallet')
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
    const pending = await this.d.db.transaction((tx) => settleCharge(tx, this.d, ev))
    await this.publish(pending)
  }

  /** After commit: the box notice goes over MQTT; if that fails, the same notice goes by SMS. */
  private async publish(n: BoxPublish | null): Promise<void> {
    if (!n) return
    try {
      if (!this.d.link) throw new Error('no broker link')
      await this.d.link.publish(n.publish.topic, n.publish.payload)
    } catch {
      await this.d.db.transaction((tx) => fallBackToSms(tx, this.d, n.tenantId, n.paymentId))
    }
  }

  private async walletMove(
    tenantId: string,
    walletId: string,
    key: { scope: string; key: string },
    request: Record<string, unknown>,
    plan: (
      tx: Tx,
      paymentId: string,
      wallet: { currency: string },
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
    let pending: BoxPublish | null = null
    const payment = await this.d.db.transaction(async (tx) => {
      const seen = await replay(tx, tenantId, key.scope, key.key, hash)
      if (seen) return toPayment(seen)
      const wallet = await activeWallet(tx, tenantId, walletId)
      const id = newId()
      const m = await plan(tx, id, wallet)
      try {
        await transfer(tx, {
          ref: `online:${id}`,
          tenantId,
          memo: m.kind === 'invoice' ? 'invoice paid from wallet' : 'wallet to merchant transfer',
          from: accounts.walletAvailable(tenantId, walletId, m.currency),
          to: m.credit,
          amount: m.amount,
        })
      } catch (err) {
        if (isLedgerError(err, 'insufficient_funds')) {
          throw new OnlineError('insufficient_funds', 'wallet balance too low', { cause: err })
        }
        throw err
      }
      const { rows } = await tx.query<PaymentRow>(
        `INSERT INTO online_payments (tenant_id, id, idempotency_key, request_hash, kind, method, amount, currency,
           invoice_id, wallet_id, merchant_id, device_id, status, settled_at, idempotency_scope, test_mode)
         VALUES ($1, $2, $3, $4, $5, 'wallet', $6, $7, $8, $9, $10, $11, 'succeeded', $12, $13, $14) RETURNING *`,
        [
          tenantId,
          id,
          key.key,
          hash,
          m.kind,
          m.amount,
          m.currency,
          m.invoice?.id ?? null,
          walletId,
          m.merchantId,
          m.deviceId,
          this.d.now(),
          key.scope,
          this.testMode,
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
        const n = { tenantId, deviceId: m.deviceId, merchantId: m.merchantId, paymentId: id, reference }
        const publish = await recordNotice(tx, this.d, { ...n, amount: m.amount, currency: m.currency })
        pending = publish && { tenantId, paymentId: id, publish }
      }
      return toPayment(rows[0]!)
    })
    await this.publish(pending)
    return payment
  }

  private async cardCharge(
    tenantId: string,
    key: { scope: string; key: string },
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
      const seen = await replay(tx, tenantId, key.scope, key.key, hash)
      if (seen && !(seen.status === 'failed' && seen.failure_code === 'provider_unavailable'))
        return { row: seen, charge: false }
      if (seen) {
        // The provider was down last time: this retry charges again under the same provider idempotency key,
        // after the same checks as the first try (the invoice may have expired or been paid meanwhile).
        await plan(tx)
        const { rows } = await tx.query<PaymentRow>(
          `UPDATE online_payments SET status = 'pending', failure_code = NULL WHERE tenant_id = $1 AND id = $2 RETURNING *`,
          [tenantId, seen.id],
        )
        return { row: rows[0]!, charge: true }
      }
      const m = await plan(tx)
      const { rows } = await tx.query<PaymentRow>(
        `INSERT INTO online_payments (tenant_id, id, idempotency_key, request_hash, kind, method, amount, currency,
           invoice_id, wallet_id, merchant_id, device_id, status, idempotency_scope, test_mode)
         VALUES ($1, $2, $3, $4, $5, 'card', $6, $7, $8, $9, $10, $11, 'pending', $12, $13) RETURNING *`,
        [
          tenantId,
          newId(),
          key.key,
          hash,
          m.kind,
          m.amount,
          m.currency,
          m.invoiceId,
          m.walletId,
          m.merchantId,
          m.deviceId,
          key.scope,
          this.testMode,
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
