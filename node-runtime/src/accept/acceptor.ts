/**
 * Offline acceptance of one payment presentation (QR text or a BLE-delivered token). Order matters:
 *   1. cryptography (decrypt, issuer + wallet signatures, binding to this merchant/device) — no state touched;
 *   2. the ledger rules and a reservation, in one synchronous step, so two concurrent presentations of the
 *      same token (or two tokens racing for the last of a purse or cap) cannot both pass;
 *   3. the journal append, which resolves after fdatasync — only then the merchant is signalled and the
 *      receipt handed back ("durable before confirmed"). A failed write releases the reservation.
 */
import { type ErrorCode, isProtocolError } from '@opg/protocol'
import { isVaultError, type Vault } from '../vault/types.js'
import { type ExposurePolicy, evaluate, type VaultView, type VerifiedPayment } from './ledger.js'
import type { ClockPort, SignalPort } from './ports.js'

/** A presentation: QR text scanned by the camera, or a token received over a BLE session with its challenge. */
export type AcceptInput = { qrText: string } | { bleToken: Uint8Array; challenge: Uint8Array }

/** The receipt handed back for an accepted payment. */
export interface Receipt {
  txId: string
  walletId: string
  amount: number
  currency: string
  /** Trusted time of acceptance, unix ms. */
  acceptedAt: number
  /** The node-signed receipt, encoded for the wallet. */
  bytes: Uint8Array
}

/**
 * Codes beyond the protocol's: the box could not make the payment durable, an unexpected fault, or the box
 * is shutting down on a power failure and takes no new payment (BLE payers receive `bad_state`).
 */
export type AcceptCode = ErrorCode | 'storage_failed' | 'internal' | 'power_failing'

export type AcceptOutcome =
  | { ok: true; receipt: Receipt }
  | { ok: false; code: AcceptCode; reason: string; txId?: string }

/** The cryptographic half of acceptance, implemented on the protocol package (see protocol-verifier.ts). */
export interface PaymentVerifier {
  /** Decrypt, decode and verify; throws ProtocolError with the reason's code. */
  verify(input: AcceptInput, nowMs: number): VerifiedPayment | Promise<VerifiedPayment>
  /** Sign and encode the receipt for an accepted payment. */
  receipt(p: VerifiedPayment, acceptedAt: number): Uint8Array
}

export interface AcceptorOptions {
  verifier: PaymentVerifier
  vault: Vault
  view: VaultView
  clock: ClockPort
  policy: ExposurePolicy
  signal?: SignalPort
  /** Called once a payment is durable (the node uses it to wake sync). */
  onAccepted?: (txId: string) => void
}

/** Accepts payments; one instance per box. */
export class Acceptor {
  readonly #o: AcceptorOptions
  #suspended: string | undefined
  readonly #inflight = new Set<Promise<AcceptOutcome>>()
  constructor(options: AcceptorOptions) {
    this.#o = options
  }

  /** From now on every presentation is refused with `power_failing` (the supply is going). */
  suspend(reason: string): void {
    this.#suspended = reason
  }

  /** Why new payments are refused, if they are. */
  get suspended(): string | undefined {
    return this.#suspended
  }

  /** Resolves once every presentation already being accepted has its outcome (durable or refused). */
  async drain(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight])
  }

  /** Try to accept one presentation; never throws for a bad token, only returns a coded rejection. */
  async accept(input: AcceptInput): Promise<AcceptOutcome> {
    const run =
      this.#suspended !== undefined
        ? Promise.resolve<AcceptOutcome>({ ok: false, code: 'power_failing', reason: this.#suspended })
        : this.#accept(input)
    this.#inflight.add(run)
    let outcome: AcceptOutcome
    try {
      outcome = await run
    } finally {
      this.#inflight.delete(run)
    }
    if (!outcome.ok) await this.#signal(() => this.#o.signal?.rejected({ code: outcome.code }))
    return outcome
  }

  async #accept(input: AcceptInput): Promise<AcceptOutcome> {
    const { verifier, vault, view, clock, policy } = this.#o
    let p: VerifiedPayment
    try {
      p = await verifier.verify(input, clock.now())
    } catch (err) {
      if (isProtocolError(err)) return { ok: false, code: err.code, reason: err.message }
      return { ok: false, code: 'internal', reason: 'verification failed unexpectedly' }
    }
    // From evaluate() to vault.append() there is no await: the vault reserves the tx id, counter and amount
    // synchronously inside append (the caps count it from then on), so the check and the reservation are one
    // atomic step.
    const acceptedAt = clock.now()
    const verdict = evaluate(view, p, policy, acceptedAt)
    if (!verdict.ok) return { ok: false, code: verdict.code, reason: verdict.reason, txId: p.txId }
    let receiptBytes: Uint8Array
    try {
      receiptBytes = verifier.receipt(p, acceptedAt)
    } catch {
      return { ok: false, code: 'internal', reason: 'could not sign the receipt', txId: p.txId }
    }
    try {
      await vault.append({
        kind: 'payment',
        txId: p.txId,
        walletId: p.walletId,
        purseId: p.purseId,
        counter: p.counter,
        amount: p.amount,
        currency: p.currency,
        merchantId: p.merchantId,
        deviceId: p.deviceId,
        acceptedAt,
        channel: p.channel,
        token: p.tokenBytes,
        receipt: receiptBytes,
      })
    } catch (err) {
      if (isVaultError(err, 'duplicate_tx') || isVaultError(err, 'duplicate_counter')) {
        return { ok: false, code: 'replay', reason: 'presented twice at once', txId: p.txId }
      }
      return { ok: false, code: 'storage_failed', reason: 'the payment could not be stored', txId: p.txId }
    }
    this.#o.onAccepted?.(p.txId)
    await this.#signal(() =>
      this.#o.signal?.accepted({ txId: p.txId, amount: p.amount, currency: p.currency }),
    )
    return {
      ok: true,
      receipt: {
        txId: p.txId,
        walletId: p.walletId,
        amount: p.amount,
        currency: p.currency,
        acceptedAt,
        bytes: receiptBytes,
      },
    }
  }

  /** A broken LED or buzzer must not turn a durable payment into a reported failure. */
  async #signal(fn: () => Promise<void> | void): Promise<void> {
    try {
      await fn()
    } catch {
      // The payment outcome stands; hardware faults surface through the binding's own health reporting.
    }
  }
}
