/**
 * An in-memory Vault with test hooks the real ones do not have: appends can be held at a gate (a slow
 * fdatasync) or made to fail (a worn SD card), and the order in which appends became durable is recorded.
 * Same contract as the vault: tx id and counter are reserved synchronously inside append.
 */
import {
  type CompactResult,
  type NoticeRecord,
  type PaymentRecord,
  type PaymentSummary,
  type Vault,
  VaultError,
  type VaultStats,
} from '../../src/vault/types.js'

export class GatedVault implements Vault {
  readonly #payments = new Map<string, PaymentRecord>()
  readonly #synced = new Set<string>()
  readonly #counters = new Set<string>()
  readonly #notices = new Map<string, NoticeRecord>()
  /** Set to make the next appends wait on this promise (simulates a slow fdatasync). */
  gate: Promise<void> | undefined
  /** Set to make appends fail with io_failed. */
  failWrites = false
  /** Order in which appends became durable. */
  readonly durableLog: string[] = []

  async append(rec: PaymentRecord | NoticeRecord): Promise<void> {
    if (rec.kind === 'notice') {
      if (this.#notices.has(rec.ref)) throw new VaultError('duplicate_notice', 'notice already held')
      this.#notices.set(rec.ref, rec)
      return
    }
    if (this.#payments.has(rec.txId)) throw new VaultError('duplicate_tx', 'tx already held')
    const ck = `${rec.walletId}/${rec.counter}`
    if (this.#counters.has(ck)) throw new VaultError('duplicate_counter', 'counter already held')
    this.#payments.set(rec.txId, rec)
    this.#counters.add(ck)
    try {
      if (this.gate) await this.gate
      if (this.failWrites) throw new VaultError('io_failed', 'simulated write failure')
    } catch (err) {
      this.#payments.delete(rec.txId)
      this.#counters.delete(ck)
      throw err
    }
    this.durableLog.push(rec.txId)
  }
  has(txId: string): boolean {
    return this.#payments.has(txId)
  }
  hasCounter(walletId: string, counter: number): boolean {
    return this.#counters.has(`${walletId}/${counter}`)
  }
  spentSince(walletId: string, counterBase: number, currency?: string): number {
    let sum = 0
    for (const p of this.#payments.values()) {
      if (p.walletId === walletId && p.counter >= counterBase && (!currency || p.currency === currency)) {
        sum += p.amount
      }
    }
    return sum
  }
  spentBetween(walletId: string, fromMs: number, toMs: number): number {
    let sum = 0
    for (const p of this.#payments.values()) {
      if (p.walletId === walletId && p.acceptedAt >= fromMs && p.acceptedAt < toMs) sum += p.amount
    }
    return sum
  }

  *payments(): IterableIterator<PaymentSummary> {
    for (const p of this.#payments.values()) yield this.#summary(p)
  }
  summary(txId: string): PaymentSummary | undefined {
    const p = this.#payments.get(txId)
    return p && this.#summary(p)
  }
  async get(txId: string): Promise<PaymentRecord | undefined> {
    return this.#payments.get(txId)
  }
  async unsynced(limit = Number.POSITIVE_INFINITY): Promise<PaymentRecord[]> {
    const out: PaymentRecord[] = []
    for (const p of this.#payments.values()) {
      if (out.length >= limit) break
      if (!this.#synced.has(p.txId)) out.push(p)
    }
    return out
  }
  async markSynced(txIds: Iterable<string>): Promise<number> {
    let n = 0
    for (const id of txIds) {
      if (this.#payments.has(id) && !this.#synced.has(id)) {
        this.#synced.add(id)
        n++
      }
    }
    return n
  }
  async markRefused(items: Iterable<{ txId: string; code: string }>): Promise<number> {
    return this.markSynced([...items].map((i) => i.txId))
  }
  hasNotice(ref: string): boolean {
    return this.#notices.has(ref)
  }
  notices(): NoticeRecord[] {
    return [...this.#notices.values()]
  }
  stats(): VaultStats {
    const byCurrency: Record<string, number> = {}
    let unsyncedCount = 0
    let last: number | undefined
    for (const p of this.#payments.values()) {
      last = Math.max(last ?? 0, p.acceptedAt)
      if (this.#synced.has(p.txId)) continue
      unsyncedCount++
      byCurrency[p.currency] = (byCurrency[p.currency] ?? 0) + p.amount
    }
    return {
      records: this.#payments.size,
      notices: this.#notices.size,
      refusedCount: 0,
      damagedCount: 0,
      unsyncedCount,
      unsyncedAmountByCurrency: byCurrency,
      bytes: 0,
      segments: 0,
      lastAcceptedAt: last,
    }
  }
  async compact(): Promise<CompactResult> {
    return { segmentsRemoved: 0, dropped: 0, carried: 0 }
  }
  async close(): Promise<void> {}

  #summary(p: PaymentRecord): PaymentSummary {
    return {
      txId: p.txId,
      walletId: p.walletId,
      purseId: p.purseId,
      counter: p.counter,
      amount: p.amount,
      currency: p.currency,
      acceptedAt: p.acceptedAt,
      channel: p.channel,
      synced: this.#synced.has(p.txId),
    }
  }
}
