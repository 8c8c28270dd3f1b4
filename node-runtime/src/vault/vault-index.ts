/**
 * The vault's in-memory indexes, shared by the file journal and the in-memory vault: payments by tx id and by
 * wallet, the unsynced count and sums, and notices by reference. Payments are added when reserved (before
 * the write) so a concurrent duplicate is refused; a failed write removes them again.
 *
 * A box may hold 100,000 payments, so they are stored by column (typed arrays, one slot per payment) rather
 * than one object each: wallet, purse and currency as numbers into one table of their strings, and payment
 * ids packed as 16 bytes (tx-id-table.ts).
 */

import { TxIdTable } from './tx-id-table.js'
import {
  type Channel,
  type NoticeRecord,
  type PaymentSummary,
  type RetentionPolicy,
  VaultError,
  type VaultStats,
} from './types.js'

/** A payment as seen from outside the index (a copy); `seg`/`off`/`len` locate its frame (-1 while in flight). */
export interface IndexEntry extends PaymentSummary {
  seg: number
  off: number
  len: number
}

export interface NoticeEntry {
  rec: NoticeRecord
  seg: number
}

const SYNCED = 1
const BLE = 2
const LIVE = 4
/** Refused by the bridge (with SYNCED: nothing more to send); kept through compaction with its code. */
const REFUSED = 8
/** Only identifiers salvaged from a damaged frame (with SYNCED: it cannot be sent); never dropped. */
const DAMAGED = 16

/** Growable columns, one slot per payment ever added (dead slots are reclaimed by `#repack`). */
class Columns {
  size = 0
  counter = new Float64Array(1024)
  amount = new Float64Array(1024)
  acceptedAt = new Float64Array(1024)
  seg = new Int32Array(1024)
  off = new Int32Array(1024)
  len = new Int32Array(1024)
  flags = new Uint8Array(1024)
  /** Numbers into VaultIndex's string table (4 bytes a slot where an array of strings takes 8); purse + 1, 0 = none. */
  walletId = new Uint32Array(1024)
  purseId = new Uint32Array(1024)
  currency = new Uint32Array(1024)
  /** Refusal codes (sparse: only refused payments have one). */
  code: (string | undefined)[] = []

  grow(): void {
    const cap = this.flags.length * 2
    const more = <T extends Float64Array | Int32Array | Uint32Array | Uint8Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(cap)
      b.set(a)
      return b
    }
    this.counter = more(this.counter)
    this.amount = more(this.amount)
    this.acceptedAt = more(this.acceptedAt)
    this.seg = more(this.seg)
    this.off = more(this.off)
    this.len = more(this.len)
    this.flags = more(this.flags)
    this.walletId = more(this.walletId)
    this.purseId = more(this.purseId)
    this.currency = more(this.currency)
  }
}

export class VaultIndex {
  #c = new Columns()
  #slots = new TxIdTable()
  /** Slots of each wallet's payments; usually a handful, so a small array beats a Map per wallet. */
  #byWallet = new Map<string, number[]>()
  #dead = 0
  #unsyncedCount = 0
  #refusedCount = 0
  #damagedCount = 0
  readonly #unsyncedSum = new Map<string, number>()
  readonly #notices = new Map<string, NoticeEntry>()
  /** Wallet ids, purse ids, currencies and refusal codes repeat across payments: one string each, by number. */
  readonly #strings: string[] = []
  readonly #stringIx = new Map<string, number>()
  #lastAcceptedAt: number | undefined

  #intern(s: string): number {
    let ix = this.#stringIx.get(s)
    if (ix === undefined) {
      ix = this.#strings.length
      this.#strings.push(s)
      this.#stringIx.set(s, ix)
    }
    return ix
  }
  #walletOf(slot: number): string {
    return this.#strings[this.#c.walletId[slot]!]!
  }
  #currencyOf(slot: number): string {
    return this.#strings[this.#c.currency[slot]!]!
  }

  #entry(slot: number): IndexEntry {
    const c = this.#c
    return {
      txId: this.#slots.idAt(slot),
      walletId: this.#walletOf(slot),
      purseId: c.purseId[slot] ? this.#strings[c.purseId[slot]! - 1] : undefined,
      counter: c.counter[slot]!,
      amount: c.amount[slot]!,
      currency: this.#currencyOf(slot),
      acceptedAt: c.acceptedAt[slot]!,
      channel: (c.flags[slot]! & BLE ? 'ble' : 'qr') as Channel,
      synced: (c.flags[slot]! & SYNCED) !== 0,
      ...(c.flags[slot]! & REFUSED ? { refused: c.code[slot] ?? 'refused' } : {}),
      ...(c.flags[slot]! & DAMAGED ? { damaged: true } : {}),
      seg: c.seg[slot]!,
      off: c.off[slot]!,
      len: c.len[slot]!,
    }
  }

  /** Throw the duplicate error the payment would cause, if any. */
  checkPayment(txId: string, walletId: string, counter: number): void {
    if (this.#slots.has(txId)) throw new VaultError('duplicate_tx', `payment ${txId} is already stored`)
    if (this.hasCounter(walletId, counter)) {
      throw new VaultError('duplicate_counter', `wallet ${walletId} counter ${counter} is already stored`)
    }
  }

  /** Add a payment (already checked), or move an existing one to a newer copy of its frame. */
  putPayment(s: PaymentSummary, seg = -1, off = -1, len = -1): void {
    if (this.#slots.has(s.txId)) {
      this.locate(s.txId, seg, off, len)
      return
    }
    const c = this.#c
    if (c.size === c.flags.length) c.grow()
    const slot = c.size++
    c.walletId[slot] = this.#intern(s.walletId)
    c.purseId[slot] = s.purseId === undefined ? 0 : this.#intern(s.purseId) + 1
    c.currency[slot] = this.#intern(s.currency)
    c.counter[slot] = s.counter
    c.amount[slot] = s.amount
    c.acceptedAt[slot] = s.acceptedAt
    c.seg[slot] = seg
    c.off[slot] = off
    c.len[slot] = len
    c.flags[slot] =
      LIVE |
      (s.channel === 'ble' ? BLE : 0) |
      (s.synced || s.damaged ? SYNCED : 0) |
      (s.damaged ? DAMAGED : 0)
    if (s.damaged) this.#damagedCount++
    this.#slots.set(s.txId, slot)
    const list = this.#byWallet.get(s.walletId)
    if (list) list.push(slot)
    else this.#byWallet.set(this.#walletOf(slot), [slot])
    if (!s.synced) this.#addUnsynced(s.currency, s.amount)
    if (this.#lastAcceptedAt === undefined || s.acceptedAt > this.#lastAcceptedAt) {
      this.#lastAcceptedAt = s.acceptedAt
    }
  }

  locate(txId: string, seg: number, off: number, len: number): void {
    const slot = this.#slots.get(txId)
    if (slot === undefined) return
    this.#c.seg[slot] = seg
    this.#c.off[slot] = off
    this.#c.len[slot] = len
  }

  /** Forget a payment (failed write, or dropped by compaction). */
  removePayment(txId: string): void {
    const slot = this.#slots.get(txId)
    if (slot === undefined) return
    const c = this.#c
    this.#slots.delete(txId)
    const walletId = this.#walletOf(slot)
    const list = this.#byWallet.get(walletId)
    const at = list?.indexOf(slot) ?? -1
    if (list && at >= 0) list.splice(at, 1)
    if (list?.length === 0) this.#byWallet.delete(walletId)
    if (!(c.flags[slot]! & SYNCED)) this.#removeUnsynced(this.#currencyOf(slot), c.amount[slot]!)
    if (c.flags[slot]! & REFUSED) this.#refusedCount--
    if (c.flags[slot]! & DAMAGED) this.#damagedCount--
    c.flags[slot] = 0
    c.code[slot] = undefined
    c.purseId[slot] = 0
    if (++this.#dead > 1024 && this.#dead > c.size / 2) this.#repack()
  }

  /** Move live slots down over dead ones, keeping their order. */
  #repack(): void {
    const old = this.#c
    const oldSlots = this.#slots
    const next = new Columns()
    this.#slots = new TxIdTable()
    this.#byWallet = new Map()
    this.#c = next
    for (let slot = 0; slot < old.size; slot++) {
      if (!(old.flags[slot]! & LIVE)) continue
      if (next.size === next.flags.length) next.grow()
      const n = next.size++
      next.walletId[n] = old.walletId[slot]!
      next.purseId[n] = old.purseId[slot]!
      next.currency[n] = old.currency[slot]!
      next.counter[n] = old.counter[slot]!
      next.amount[n] = old.amount[slot]!
      next.acceptedAt[n] = old.acceptedAt[slot]!
      next.seg[n] = old.seg[slot]!
      next.off[n] = old.off[slot]!
      next.len[n] = old.len[slot]!
      next.flags[n] = old.flags[slot]!
      next.code[n] = old.code[slot]
      this.#slots.set(oldSlots.idAt(slot), n)
      const w = this.#strings[old.walletId[slot]!]!
      const list = this.#byWallet.get(w)
      if (list) list.push(n)
      else this.#byWallet.set(w, [n])
    }
    this.#dead = 0
  }

  #addUnsynced(currency: string, amount: number): void {
    this.#unsyncedCount++
    this.#unsyncedSum.set(currency, (this.#unsyncedSum.get(currency) ?? 0) + amount)
  }
  #removeUnsynced(currency: string, amount: number): void {
    this.#unsyncedCount--
    const left = (this.#unsyncedSum.get(currency) ?? 0) - amount
    if (left === 0) this.#unsyncedSum.delete(currency)
    else this.#unsyncedSum.set(currency, left)
  }

  /** Returns true when the payment was known and unsynced. */
  markSynced(txId: string): boolean {
    const slot = this.#slots.get(txId)
    if (slot === undefined || this.#c.flags[slot]! & SYNCED) return false
    this.#c.flags[slot]! |= SYNCED
    this.#removeUnsynced(this.#currencyOf(slot), this.#c.amount[slot]!)
    return true
  }

  /** Record the bridge's refusal; true when the payment is known and was not refused before. */
  markRefused(txId: string, code: string): boolean {
    const slot = this.#slots.get(txId)
    if (slot === undefined) return false
    const c = this.#c
    if (c.flags[slot]! & REFUSED) return false
    if (!(c.flags[slot]! & SYNCED)) this.#removeUnsynced(this.#currencyOf(slot), c.amount[slot]!)
    c.flags[slot]! |= SYNCED | REFUSED
    c.code[slot] = this.#strings[this.#intern(code)]
    this.#refusedCount++
    return true
  }

  isRefused(txId: string): boolean {
    const slot = this.#slots.get(txId)
    return slot !== undefined && (this.#c.flags[slot]! & REFUSED) !== 0
  }

  isUnsynced(txId: string): boolean {
    const slot = this.#slots.get(txId)
    return slot !== undefined && !(this.#c.flags[slot]! & SYNCED)
  }
  has(txId: string): boolean {
    return this.#slots.has(txId)
  }
  entry(txId: string): IndexEntry | undefined {
    const slot = this.#slots.get(txId)
    return slot === undefined ? undefined : this.#entry(slot)
  }
  hasCounter(walletId: string, counter: number): boolean {
    return this.#byWallet.get(walletId)?.some((slot) => this.#c.counter[slot] === counter) ?? false
  }

  spentSince(walletId: string, counterBase: number, currency?: string): number {
    const c = this.#c
    let sum = 0
    for (const slot of this.#byWallet.get(walletId) ?? []) {
      if (
        c.counter[slot]! >= counterBase &&
        (currency === undefined || this.#currencyOf(slot) === currency)
      ) {
        sum += c.amount[slot]!
      }
    }
    return sum
  }

  spentBetween(walletId: string, fromMs: number, toMs: number): number {
    const c = this.#c
    let sum = 0
    for (const slot of this.#byWallet.get(walletId) ?? []) {
      const at = c.acceptedAt[slot]!
      if (at >= fromMs && at < toMs) sum += c.amount[slot]!
    }
    return sum
  }

  /** Summaries of live payments in the order they were first added. */
  *summaries(): IterableIterator<PaymentSummary> {
    for (const e of this.entries()) {
      const { seg: _s, off: _o, len: _l, ...summary } = e
      yield summary
    }
  }
  *entries(): IterableIterator<IndexEntry> {
    const c = this.#c
    for (let slot = 0; slot < c.size; slot++) if (c.flags[slot]! & LIVE) yield this.#entry(slot)
  }
  summary(txId: string): PaymentSummary | undefined {
    const e = this.entry(txId)
    if (!e) return undefined
    const { seg: _s, off: _o, len: _l, ...summary } = e
    return summary
  }
  /** Unsynced payments, oldest first. */
  unsyncedEntries(limit = Number.POSITIVE_INFINITY): IndexEntry[] {
    const out: IndexEntry[] = []
    const c = this.#c
    for (let slot = 0; slot < c.size && out.length < limit && out.length < this.#unsyncedCount; slot++) {
      if ((c.flags[slot]! & (LIVE | SYNCED)) === LIVE) out.push(this.#entry(slot))
    }
    return out
  }

  checkNotice(ref: string): void {
    if (this.#notices.has(ref)) throw new VaultError('duplicate_notice', `notice ${ref} is already stored`)
  }
  putNotice(rec: NoticeRecord, seg = -1): void {
    const old = this.#notices.get(rec.ref)
    if (old) old.seg = seg
    else this.#notices.set(rec.ref, { rec, seg })
  }
  removeNotice(ref: string): void {
    this.#notices.delete(ref)
  }
  hasNotice(ref: string): boolean {
    return this.#notices.has(ref)
  }
  noticeEntries(): IterableIterator<NoticeEntry> {
    return this.#notices.values()
  }
  notices(): NoticeRecord[] {
    return [...this.#notices.values()].map((n) => ({ ...n.rec }))
  }

  /**
   * Which synced payments the retention policy lets go at `now`: older than maxAgeMs or beyond the newest
   * maxSynced, and in any case older than protectMs.
   */
  expired(now: number, r: RetentionPolicy): Set<string> {
    const c = this.#c
    let synced = 0
    for (let slot = 0; slot < c.size; slot++)
      if ((c.flags[slot]! & (LIVE | SYNCED)) === (LIVE | SYNCED)) synced++
    const overCount = Math.max(0, synced - r.maxSynced)
    const out = new Set<string>()
    let rank = 0
    for (let slot = 0; slot < c.size; slot++) {
      if ((c.flags[slot]! & (LIVE | SYNCED)) !== (LIVE | SYNCED)) continue
      // Refusals and damaged payments are kept whatever their age: they are what the merchant disputes.
      if (c.flags[slot]! & (REFUSED | DAMAGED)) continue
      const at = c.acceptedAt[slot]!
      if (at < now - r.protectMs && (rank < overCount || at < now - r.maxAgeMs))
        out.add(this.#slots.idAt(slot))
      rank++
    }
    return out
  }

  stats(): Omit<VaultStats, 'bytes' | 'segments'> {
    return {
      records: this.#slots.size,
      notices: this.#notices.size,
      unsyncedCount: this.#unsyncedCount,
      unsyncedAmountByCurrency: Object.fromEntries(this.#unsyncedSum),
      refusedCount: this.#refusedCount,
      damagedCount: this.#damagedCount,
      lastAcceptedAt: this.#lastAcceptedAt,
    }
  }
}
