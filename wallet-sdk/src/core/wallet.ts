/**
 * The wallet: identity, offline purse and signed log over app-supplied storage. It refuses what the box would
 * refuse (expired purse, over limit, exhausted purse, forged sticker) before signing anything, and it never
 * signs two different tokens with one counter: the counter and the exact token content are written ahead
 * (durably) before signing, and a crash between signing and saving is repaired by re-signing that same content.
 */
import {
  type Bytes,
  type CryptoBackend,
  chainStart,
  decodeNodeCertificate,
  decodeReceipt,
  decodeToken,
  decodeWalletCertificate,
  equalBytes,
  fromHex,
  type IssuerKeyring,
  type PaymentToken,
  type Receipt,
  toHex,
  tokenHash,
  uuidv7,
  verifyReceipt,
  verifyWalletCertificate,
} from '@opg/protocol'
import { WalletError } from './errors.js'
import { type Payment, type PayOptions, sealPayment } from './payment.js'
import { logEntryFor, type PurseStatus, pendingTokenFields, purseStatus } from './purse.js'
import { type Signer, softwareSigner } from './signer.js'
import {
  decodeState,
  encodeState,
  keyringFromState,
  keyringToState,
  type LogRecord,
  type PendingRecord,
  STATE_KEY,
  type WalletState,
} from './state.js'
import { type MerchantTarget, readSticker } from './sticker.js'
import type { WalletStorage } from './storage.js'
import { checkSpend, signTokenWith } from './token-signing.js'

/** What a Wallet is built from. */
export interface WalletOptions {
  /** Crypto backend: `nobleBackend` (portable) or `nodeBackend` from '@opg/protocol/node'. */
  crypto: CryptoBackend
  /** Durable storage (the phone's secure storage, or EncryptedFileStorage on Node). */
  storage: WalletStorage
  /** A hardware-backed signer. Without one, the wallet makes an Ed25519 seed and keeps it in `storage`. */
  signer?: Signer
  /** Wallet clock in ms (default Date.now). Only used for certificate validity and token walletTime. */
  now?: () => number
  /** Source of transaction ids (default: UUIDv7 from the wallet clock). Fixed ids reproduce test vectors. */
  txIds?: (nowMs: number) => string
  /** How many acknowledged log entries to keep locally (default 500); older ones live on at the bridge. */
  keepSynced?: number
}

/** One entry of the signed log, as an app shows it. */
export type LogEntry = Readonly<LogRecord>
export type { PurseStatus } from './purse.js'

export class Wallet {
  readonly #c: CryptoBackend
  readonly #storage: WalletStorage
  readonly #signer: Signer
  readonly #now: () => number
  readonly #txIds: (nowMs: number) => string
  readonly #keepSynced: number
  #state: WalletState
  #queue: Promise<unknown> = Promise.resolve()
  /**
   * Tx ids of payments re-signed because the app stopped between signing and saving: the customer never saw
   * them. They count as spent and go to the bridge at the next sync; offer to show them (`payment(txId)`).
   */
  readonly recovered: string[] = []

  private constructor(o: WalletOptions, signer: Signer, s: WalletState) {
    this.#c = o.crypto
    this.#storage = o.storage
    this.#signer = signer
    this.#now = o.now ?? Date.now
    this.#txIds = o.txIds ?? ((nowMs) => uuidv7(o.crypto, nowMs))
    this.#keepSynced = o.keepSynced ?? 500
    this.#state = s
  }

  /** Create a new wallet in empty storage (WalletError 'wallet_exists' if one is there). */
  static async create(o: WalletOptions & { issuerKeys?: IssuerKeyring }): Promise<Wallet> {
    if ((await readState(o.storage)) !== undefined)
      throw new WalletError('wallet_exists', 'storage holds a wallet')
    let signer = o.signer
    const state: WalletState = {
      v: 1,
      publicKey: '',
      issuerKeys: keyringToState(o.issuerKeys ?? new Map()),
      log: [],
    }
    if (!signer) {
      const seed = o.crypto.randomBytes(32)
      signer = softwareSigner(o.crypto, seed)
      state.seed = toHex(seed)
    }
    state.publicKey = toHex(signer.publicKey)
    await o.storage.set(STATE_KEY, encodeState(state))
    return new Wallet(o, signer, state)
  }

  /** Open the wallet in `storage` (WalletError 'no_wallet' if none), finishing any payment a crash interrupted. */
  static async open(o: WalletOptions): Promise<Wallet> {
    const state = await readState(o.storage)
    if (!state) throw new WalletError('no_wallet', 'no wallet in this storage: create one first')
    let signer = o.signer
    if (!signer) {
      if (!state.seed)
        throw new WalletError('storage', 'this wallet uses an external signer: pass it to open()')
      signer = softwareSigner(o.crypto, fromHex(state.seed))
    }
    if (!equalBytes(signer.publicKey, fromHex(state.publicKey))) {
      throw new WalletError('storage', 'the signer does not hold this wallet key')
    }
    const w = new Wallet(o, signer, state)
    await w.#exclusive(() => w.#recoverPending())
    return w
  }

  /** True when `storage` holds a wallet. */
  static async exists(storage: WalletStorage): Promise<boolean> {
    // `null` and `undefined` both mean "nothing stored": platform stores differ.
    return ((await storage.get(STATE_KEY)) ?? undefined) !== undefined
  }

  /** The crypto backend this wallet uses. */
  get crypto(): CryptoBackend {
    return this.#c
  }

  /** The wallet clock, ms. */
  now(): number {
    return this.#now()
  }

  get publicKey(): Bytes {
    return this.#signer.publicKey
  }

  /** The id the bridge assigned at registration (undefined before). */
  get walletId(): string | undefined {
    return this.#state.walletId
  }

  get tenantId(): string | undefined {
    return this.#state.tenantId
  }

  /** The wallet's bridge API key saved at registration, if any. */
  get apiKey(): string | undefined {
    return this.#state.apiKey
  }

  /** The issuer keys the wallet trusts (for stickers and its own certificates). */
  get issuerKeys(): IssuerKeyring {
    return keyringFromState(this.#state)
  }

  /** Record the registration the bridge returned. Issuer keys are merged (old key ids stay for rotation). */
  async setRegistration(r: {
    walletId: string
    tenantId?: string
    apiKey?: string
    issuerKeys?: IssuerKeyring
  }): Promise<void> {
    await this.#exclusive(async () => {
      const next = { ...this.#state, walletId: r.walletId }
      if (r.tenantId) next.tenantId = r.tenantId
      if (r.apiKey) next.apiKey = r.apiKey
      if (r.issuerKeys) next.issuerKeys = { ...next.issuerKeys, ...keyringToState(r.issuerKeys) }
      await this.#save(next)
    })
  }

  /**
   * Install the purse certificate the bridge issued. It must name this wallet's key and verify against a known
   * issuer (WalletError 'bad_certificate' / 'cert_expired'). Replaces an older purse; the log is kept.
   */
  async installPurse(certBytes: Bytes): Promise<PurseStatus> {
    return this.#exclusive(async () => {
      // A payment interrupted under the old purse is finished under the old purse.
      await this.#recoverPending()
      let cert: ReturnType<typeof decodeWalletCertificate>
      try {
        cert = decodeWalletCertificate(certBytes)
        verifyWalletCertificate(this.#c, cert, this.issuerKeys)
      } catch (cause) {
        throw new WalletError('bad_certificate', 'the purse certificate does not verify', { cause })
      }
      if (!equalBytes(cert.publicKey, this.publicKey)) {
        throw new WalletError('bad_certificate', 'the purse certificate is for another wallet key')
      }
      if (this.#state.walletId !== undefined && cert.walletId !== this.#state.walletId) {
        throw new WalletError('bad_certificate', 'the purse certificate names another wallet id')
      }
      if (this.#nowS() >= cert.expiresAt)
        throw new WalletError('cert_expired', 'the purse certificate has expired')
      // Reinstalling a used certificate would reset its remaining amount: spending past the escrow.
      if (cert.counterBase < (this.#state.lastCounter ?? 0)) {
        throw new WalletError('bad_certificate', 'this purse certificate covers counters already used')
      }
      const next: WalletState = {
        ...this.#state,
        walletId: this.#state.walletId ?? cert.walletId,
        purse: {
          cert: toHex(cert.bytes),
          remaining: cert.purseAmount,
          nextCounter: cert.counterBase + 1,
          prevHash: toHex(chainStart(this.#c, cert)),
          loadedAt: this.#now(),
        },
      }
      await this.#save(next)
      return this.purse()!
    })
  }

  /** The offline purse, or undefined when none is loaded. */
  purse(): PurseStatus | undefined {
    return this.#state.purse && purseStatus(this.#state.purse, this.#nowS())
  }

  /** Decode and verify a merchant sticker (WalletError 'bad_sticker' / 'forged_sticker' / 'sticker_expired'). */
  readSticker(text: string): MerchantTarget {
    return readSticker(this.#c, text, this.issuerKeys, this.#nowS())
  }

  /**
   * Sign an offline payment and seal it to the box. Works with no network. The amount is counted as spent
   * from the moment this resolves (the wallet cannot know whether the box scanned the QR code).
   */
  async pay(o: PayOptions): Promise<Payment> {
    const target = typeof o.to === 'string' ? this.readSticker(o.to) : o.to
    return this.#exclusive(async () => {
      await this.#recoverPending()
      const purse = this.#state.purse
      if (!purse) throw new WalletError('no_purse', 'no offline purse loaded: load one while online')
      const cert = decodeWalletCertificate(fromHex(purse.cert))
      checkSpend(this.#c, cert, this.issuerKeys, purse.remaining, o.amount, this.#nowS())
      const now = this.#now()
      const pending: PendingRecord = {
        txId: this.#txIds(now),
        merchantId: target.merchantId,
        deviceId: target.deviceId,
        merchantName: target.merchantName,
        nodeCert: toHex(target.nodeCert.bytes),
        amount: o.amount,
        counter: purse.nextCounter,
        prevHash: purse.prevHash,
        walletTime: Math.floor(now / 1000),
        createdAt: now,
      }
      if (o.challenge) pending.challenge = toHex(o.challenge)
      // Write-ahead: the counter is taken and the exact content fixed before any signature exists.
      await this.#save({
        ...this.#state,
        purse: { ...purse, nextCounter: purse.nextCounter + 1 },
        lastCounter: pending.counter,
        pending,
      })
      const token = await this.#commitPending(false)
      return sealPayment(this.#c, token, target)
    })
  }

  /**
   * A logged payment, sealed again for showing once more (the box did not scan it, the app restarted, or it is
   * in `recovered`). Same token, same tx id: showing it twice can never pay twice.
   */
  payment(txId: string): Payment {
    const e = this.#state.log.find((x) => x.txId === txId)
    if (!e) throw new WalletError('unknown_payment', `no payment ${txId} in this wallet`)
    const nodeCert = decodeNodeCertificate(fromHex(e.nodeCert))
    const target: MerchantTarget = {
      merchantId: nodeCert.merchantId,
      deviceId: nodeCert.deviceId,
      tenantId: nodeCert.tenantId,
      merchantName: e.merchantName,
      nodeCert,
    }
    return sealPayment(this.#c, decodeToken(fromHex(e.token)), target)
  }

  /**
   * Verify the box's receipt for `payment` (WalletError 'bad_receipt') and keep it in the log.
   */
  async acceptReceipt(payment: Payment, receiptBytes: Bytes): Promise<Receipt> {
    let receipt: Receipt
    try {
      receipt = decodeReceipt(receiptBytes)
      verifyReceipt(this.#c, receipt, payment.target.nodeCert.signingKey, payment.token)
    } catch (cause) {
      throw new WalletError('bad_receipt', 'the receipt does not prove this payment', { cause })
    }
    await this.#exclusive(async () => {
      const log = this.#state.log.map((e) =>
        e.txId === payment.txId ? { ...e, receipt: toHex(receipt.bytes) } : e,
      )
      await this.#save({ ...this.#state, log })
    })
    return receipt
  }

  /** The signed log, oldest first. */
  log(): readonly LogEntry[] {
    return this.#state.log
  }

  /** Log entries still to upload: not acknowledged by the bridge, not refused by a box. */
  unsynced(): LogEntry[] {
    return this.#state.log.filter((e) => e.syncedAt === undefined && e.refused === undefined)
  }

  /** Record that the box refused this payment (BLE rejection with `code`): it will not be uploaded. */
  async markRefused(txId: string, code: string): Promise<void> {
    await this.#exclusive(async () => {
      const log = this.#state.log.map((e) => (e.txId === txId ? { ...e, refused: code } : e))
      await this.#save({ ...this.#state, log })
    })
  }

  /** Mark log entries as acknowledged by the bridge (after a log upload); prunes beyond `keepSynced`. */
  async markSynced(results: ReadonlyArray<{ txId: string; outcome: string }>): Promise<void> {
    await this.#exclusive(async () => {
      const byTx = new Map(results.map((r) => [r.txId, r.outcome]))
      const at = this.#now()
      const marked = this.#state.log.map((e) => {
        const outcome = byTx.get(e.txId)
        return outcome === undefined ? e : { ...e, syncedAt: at, syncOutcome: outcome }
      })
      // Every write rewrites the whole record: keep it small by dropping the oldest acknowledged entries.
      let drop = marked.filter((e) => e.syncedAt !== undefined).length - this.#keepSynced
      const log = marked.filter((e) => !(e.syncedAt !== undefined && drop-- > 0))
      await this.#save({ ...this.#state, log })
    })
  }

  #nowS(): number {
    return Math.floor(this.#now() / 1000)
  }

  /** A crash left a reserved payment: re-sign exactly that content and commit it (never a new token). */
  async #recoverPending(): Promise<void> {
    if (!this.#state.pending) return
    const token = await this.#commitPending(true)
    this.recovered.push(token.txId)
  }

  /** Sign the pending record and commit it to the log in one write; returns the token. */
  async #commitPending(recovered: boolean): Promise<PaymentToken> {
    const p = this.#state.pending!
    const purse = this.#state.purse
    if (!purse) throw new WalletError('storage', 'a pending payment without a purse')
    const cert = decodeWalletCertificate(fromHex(purse.cert))
    const token = await signTokenWith(this.#c, this.#signer, cert, pendingTokenFields(p))
    const entry = logEntryFor(p, token, recovered)
    const { pending: _done, ...rest } = this.#state
    await this.#save({
      ...rest,
      purse: { ...purse, remaining: purse.remaining - p.amount, prevHash: toHex(tokenHash(this.#c, token)) },
      log: [...this.#state.log, entry],
    })
    return token
  }

  /** Persist `next`, then adopt it: memory never runs ahead of what storage holds. */
  async #save(next: WalletState): Promise<void> {
    try {
      await this.#storage.set(STATE_KEY, encodeState(next))
    } catch (cause) {
      if (cause instanceof WalletError) throw cause
      throw new WalletError('storage', 'could not save the wallet state', { cause })
    }
    this.#state = next
  }

  /** Run wallet mutations one at a time, so two concurrent payments can never take one counter. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn)
    this.#queue = run.catch(() => undefined)
    return run
  }
}

async function readState(storage: WalletStorage): Promise<WalletState | undefined> {
  const text = await storage.get(STATE_KEY)
  return text === undefined || text === null ? undefined : decodeState(text)
}
