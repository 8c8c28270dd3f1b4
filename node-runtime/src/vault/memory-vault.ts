/**
 * The in-memory `Vault`: same contract and indexes as the file journal, nothing written anywhere. For unit
 * tests of the code that uses the vault (acceptance, sync) and for the demo; never for a real box.
 */
import { summarise, validateRecord } from './codec.js'
import {
  type CompactResult,
  DEFAULT_RETENTION,
  type NoticeRecord,
  type PaymentRecord,
  type PaymentSummary,
  type RetentionPolicy,
  type Vault,
  VaultError,
  type VaultStats,
} from './types.js'
import { VaultIndex } from './vault-index.js'

function copyPayment(r: PaymentRecord): PaymentRecord {
  return { ...r, token: r.token.slice(), receipt: r.receipt.slice() }
}

export class MemoryVault implements Vault {
  readonly #index = new VaultIndex()
  readonly #records = new Map<string, PaymentRecord>()
  readonly #retention: RetentionPolicy
  #closed = false

  constructor(opts: { retention?: Partial<RetentionPolicy> } = {}) {
    this.#retention = { ...DEFAULT_RETENTION, ...opts.retention }
  }

  /** Same shape as `FileVault.open`, for symmetry in tests. */
  static async open(opts: { retention?: Partial<RetentionPolicy> } = {}): Promise<MemoryVault> {
    return new MemoryVault(opts)
  }

  #live(): void {
    if (this.#closed) throw new VaultError('closed', 'vault is closed')
  }

  async append(rec: PaymentRecord | NoticeRecord): Promise<void> {
    this.#live()
    validateRecord(rec)
    if (rec.kind === 'payment') {
      this.#index.checkPayment(rec.txId, rec.walletId, rec.counter)
      this.#index.putPayment(summarise(rec))
      this.#records.set(rec.txId, copyPayment(rec))
    } else if (rec.kind === 'notice') {
      this.#index.checkNotice(rec.ref)
      this.#index.putNotice({ ...rec })
    } else {
      throw new VaultError('invalid_record', 'only payments and notices are appended; use markSynced')
    }
  }
  has(txId: string): boolean {
    return this.#index.has(txId)
  }
  hasCounter(walletId: string, counter: number): boolean {
    return this.#index.hasCounter(walletId, counter)
  }
  spentSince(walletId: string, counterBase: number, currency?: string): number {
    return this.#index.spentSince(walletId, counterBase, currency)
  }
  spentBetween(walletId: string, fromMs: number, toMs: number): number {
    return this.#index.spentBetween(walletId, fromMs, toMs)
  }
  payments(): IterableIterator<PaymentSummary> {
    return this.#index.summaries()
  }
  summary(txId: string): PaymentSummary | undefined {
    return this.#index.summary(txId)
  }
  async get(txId: string): Promise<PaymentRecord | undefined> {
    const r = this.#records.get(txId)
    return r && copyPayment(r)
  }
  async unsynced(limit?: number): Promise<PaymentRecord[]> {
    return this.#index.unsyncedEntries(limit).map((e) => copyPayment(this.#records.get(e.txId)!))
  }
  async markSynced(txIds: Iterable<string>): Promise<number> {
    this.#live()
    let n = 0
    for (const id of new Set(txIds)) if (this.#index.markSynced(id)) n++
    return n
  }
  async markRefused(items: Iterable<{ txId: string; code: string }>): Promise<number> {
    this.#live()
    let n = 0
    for (const { txId, code } of items) if (this.#index.markRefused(txId, code)) n++
    return n
  }
  hasNotice(ref: string): boolean {
    return this.#index.hasNotice(ref)
  }
  notices(): NoticeRecord[] {
    return this.#index.notices()
  }
  stats(): VaultStats {
    return { ...this.#index.stats(), bytes: 0, segments: 0 }
  }
  async compact(now: number): Promise<CompactResult> {
    this.#live()
    const expired = this.#index.expired(now, this.#retention)
    for (const id of expired) {
      this.#index.removePayment(id)
      this.#records.delete(id)
    }
    let notices = 0
    for (const n of [...this.#index.noticeEntries()]) {
      if (n.rec.receivedAt < now - this.#retention.maxAgeMs) {
        this.#index.removeNotice(n.rec.ref)
        notices++
      }
    }
    return { segmentsRemoved: 0, dropped: expired.size + notices, carried: 0 }
  }
  async close(): Promise<void> {
    this.#closed = true
  }
}
