/**
 * The vault on flash: an append-only, encrypted, MAC-chained journal (layout in frame.ts, start-up in
 * journal-replay.ts, file handling in journal-writer.ts). Every append is durable before its promise
 * resolves (an O_DSYNC write: write + fdatasync in one system call); appends that arrive while a write is
 * under way go together into the next single write (group commit). Compaction drops whole old segments once
 * every payment in them is synced and past retention, copying the few that must stay forward.
 */
import { type ReplayItem, summarise, validateRecord } from './codec.js'
import { type CompactionPlan, planCompaction } from './compaction-plan.js'
import { deriveVaultKeys } from './frame.js'
import { type FsLike, nodeFs } from './fs.js'
import { type JournalDamage, quarantine, type SalvagedPayment } from './journal-damage.js'
import { type FrameLocation, JournalWriter } from './journal-writer.js'
import {
  type CompactResult,
  DEFAULT_RETENTION,
  type NoticeRecord,
  type PaymentRecord,
  type PaymentSummary,
  type RetentionPolicy,
  type Vault,
  VaultError,
  type VaultRecord,
  type VaultStats,
} from './types.js'
import { type IndexEntry, VaultIndex } from './vault-index.js'

export interface FileVaultOptions {
  /** Directory of the journal (created if absent). */
  dir: string
  /** 16-byte vault key: deriveKey(c, deviceSecret, 'vault', deviceId). Purpose subkeys are derived from it. */
  key: Uint8Array
  fs?: FsLike
  retention?: Partial<RetentionPolicy>
  /** A new segment is started once the current one would pass this size. Default 4 MiB. */
  segmentBytes?: number
  /**
   * Flash block (page) size each commit is padded to, so no commit rewrites a block holding a confirmed
   * frame. Default 4096; set it to the card's page size (often 16 KiB) when known.
   */
  blockBytes?: number
  /**
   * Zeros written ahead of the commits, one extent at a time, so a commit overwrites allocated space in
   * place (no file-system metadata update per commit). Default 256 KiB; 0 appends instead.
   */
  preallocBytes?: number
}

interface WriteItem {
  rec: VaultRecord
  /** Called once the frame is durable. */
  done(loc: FrameLocation): void
  /** Called if the write failed: release what `append` reserved. */
  undo(): void
}

type Op =
  | { kind: 'write'; items: WriteItem[]; resolve: () => void; reject: (e: unknown) => void }
  | { kind: 'task'; run: () => Promise<unknown>; resolve: (v: unknown) => void; reject: (e: unknown) => void }

/** `synced` records list at most this many ids, to keep frames small. */
const SYNCED_CHUNK = 1000

const copyPayment = (r: PaymentRecord): PaymentRecord => ({
  ...r,
  token: r.token.slice(),
  receipt: r.receipt.slice(),
})

export class FileVault implements Vault {
  readonly #journal: JournalWriter
  readonly #retention: RetentionPolicy
  readonly #index = new VaultIndex()
  /** Records whose write is in flight, so `get` can answer before they are on flash. */
  readonly #inflight = new Map<string, PaymentRecord>()
  readonly #queue: Op[] = []
  #draining = false
  #failed: VaultError | undefined
  #closed = false
  #readers = 0
  #readersIdle: (() => void)[] = []
  readonly #fs: FsLike
  readonly #dir: string
  #damage: JournalDamage[] = []

  constructor(opts: FileVaultOptions) {
    const keys = deriveVaultKeys(opts.key)
    this.#fs = opts.fs ?? nodeFs
    this.#dir = opts.dir
    this.#journal = new JournalWriter(
      this.#fs,
      opts.dir,
      keys,
      opts.segmentBytes ?? 4 * 1024 * 1024,
      opts.blockBytes ?? 4096,
      opts.preallocBytes ?? 256 * 1024,
    )
    this.#retention = { ...DEFAULT_RETENTION, ...opts.retention }
  }

  /** Open (or create) the journal in `dir`: replay it, rebuild the indexes, cut a torn tail. */
  static async open(opts: FileVaultOptions): Promise<FileVault> {
    const v = new FileVault(opts)
    await v.start()
    return v
  }

  /**
   * Replay and get ready to append. Damage is not an error: intact records are kept, damaged bytes are
   * copied to the quarantine and listed in `damage`. Throws `wrong_key` when the journal is not ours.
   */
  async start(): Promise<void> {
    await this.#journal.open(
      (item, seg, off, len) => this.#apply(item, seg, off, len),
      (s, seg, off, len) => this.#salvaged(s, seg, off, len),
    )
    const found = [...this.#journal.damage]
    if (this.#journal.markUnreadable) {
      found.push({
        damage: { reason: 'mark_unreadable', segment: 0, offset: 0, length: 0, record: 0, confirmed: false },
        bytes: undefined,
      })
    }
    this.#damage = await quarantine(this.#fs, this.#dir, found)
  }

  /**
   * Damage found at the last open (each already copied to the vault's quarantine directory); empty for a
   * healthy journal. `confirmed` entries hurt records the vault had acknowledged: the operator must look.
   */
  get damage(): JournalDamage[] {
    return this.#damage.map((d) => ({ ...d }))
  }

  /** A damaged payment frame whose identifiers could be read: keep them so its token is refused if re-offered. */
  #salvaged(s: SalvagedPayment, seg: number, off: number, len: number): void {
    if (this.#index.has(s.txId)) return
    this.#index.putPayment(
      { ...s, purseId: undefined, channel: 'qr', synced: true, damaged: true },
      seg,
      off,
      len,
    )
  }

  /** Resolves once the high-water mark covers every commit so far (for tests and a clean shutdown). */
  settled(): Promise<void> {
    return this.#journal.settleMark()
  }

  /** Bytes written to flash since open: commits with their padding, seals, and high-water marks. */
  get flashBytes(): { journal: number; markWrites: number; zeros: number } {
    return {
      journal: this.#journal.bytesWritten,
      markWrites: this.#journal.markWrites,
      zeros: this.#journal.zeroBytes,
    }
  }

  /** Bytes cut from a torn tail at the last open (0 if the journal ended cleanly). */
  get tornBytes(): number {
    return this.#journal.tornBytes
  }

  #apply(item: ReplayItem, seg: number, off: number, len: number): void {
    if (item.kind === 'payment') this.#index.putPayment(item.summary, seg, off, len)
    else if (item.kind === 'notice') this.#index.putNotice(item, seg)
    else if (item.kind === 'refused') for (const r of item.items) this.#index.markRefused(r.txId, r.code)
    else for (const id of item.txIds) this.#index.markSynced(id)
  }

  /** Segments checked through their seal at the last open (the rest were replayed record by record). */
  get sealedAtOpen(): number {
    return this.#journal.sealedAtOpen
  }

  #check(): void {
    if (this.#closed) throw new VaultError('closed', 'vault is closed')
    if (this.#failed) throw this.#failed
  }

  #enqueueWrite(items: WriteItem[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ kind: 'write', items, resolve, reject })
      this.#kick()
    })
  }
  #enqueueTask<T>(run: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ kind: 'task', run, resolve: resolve as (v: unknown) => void, reject })
      this.#kick()
    })
  }
  #kick(): void {
    if (this.#draining) return
    this.#draining = true
    void this.#drain()
  }

  /** One write at a time; consecutive appends queued meanwhile become one batch (group commit). */
  async #drain(): Promise<void> {
    for (;;) {
      if (this.#queue.length === 0) {
        // Cleared synchronously with the last check, so an op queued from here on starts a new drain.
        this.#draining = false
        return
      }
      const head = this.#queue[0]!
      if (head.kind === 'task') {
        this.#queue.shift()
        try {
          head.resolve(await head.run())
        } catch (err) {
          head.reject(err)
        }
        continue
      }
      let n = 0
      while (n < this.#queue.length && this.#queue[n]!.kind === 'write') n++
      const ops = this.#queue.splice(0, n) as Extract<Op, { kind: 'write' }>[]
      const items = ops.flatMap((o) => o.items)
      try {
        if (this.#failed) throw this.#failed
        await this.#write(items)
        for (const o of ops) o.resolve()
      } catch (err) {
        this.#fail(err)
        for (const it of items) it.undo()
        for (const o of ops) o.reject(this.#failed)
      }
    }
  }

  async #write(items: WriteItem[]): Promise<void> {
    const locs = await this.#journal.writeBatch(items.map((it) => it.rec))
    items.forEach((it, i) => {
      it.done(locs[i]!)
    })
  }

  #fail(err: unknown): void {
    if (this.#failed) return
    this.#failed =
      err instanceof VaultError
        ? err
        : new VaultError('io_failed', 'journal write failed; reopen the vault to recover', { cause: err })
  }

  async append(rec: PaymentRecord | NoticeRecord): Promise<void> {
    this.#check()
    validateRecord(rec)
    if (rec.kind === 'payment') {
      this.#index.checkPayment(rec.txId, rec.walletId, rec.counter)
      const copy = copyPayment(rec)
      this.#index.putPayment(summarise(copy))
      this.#inflight.set(rec.txId, copy)
      return this.#enqueueWrite([
        {
          rec: copy,
          done: (l) => {
            this.#index.locate(rec.txId, l.seg, l.off, l.len)
            this.#inflight.delete(rec.txId)
          },
          undo: () => {
            this.#index.removePayment(rec.txId)
            this.#inflight.delete(rec.txId)
          },
        },
      ])
    }
    if (rec.kind === 'notice') {
      this.#index.checkNotice(rec.ref)
      const copy = { ...rec }
      this.#index.putNotice(copy)
      return this.#enqueueWrite([
        {
          rec: copy,
          done: (l) => this.#index.putNotice(copy, l.seg),
          undo: () => this.#index.removeNotice(rec.ref),
        },
      ])
    }
    throw new VaultError('invalid_record', 'only payments and notices are appended; use markSynced')
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
  hasNotice(ref: string): boolean {
    return this.#index.hasNotice(ref)
  }
  notices(): NoticeRecord[] {
    return this.#index.notices()
  }

  async get(txId: string): Promise<PaymentRecord | undefined> {
    const e = this.#index.entry(txId)
    // A damaged payment has no readable frame: its summary (and the quarantine) is all there is.
    if (!e || e.damaged) return undefined
    return (await this.#read([e]))[0]
  }

  async unsynced(limit?: number): Promise<PaymentRecord[]> {
    return this.#read(this.#index.unsyncedEntries(limit))
  }

  /** Read whole payments back. Locations are taken now; compaction waits for readers before removing files. */
  async #read(entries: IndexEntry[]): Promise<PaymentRecord[]> {
    const wanted = entries.map((e) => ({ txId: e.txId, seg: e.seg, off: e.off, len: e.len }))
    this.#readers++
    try {
      const onFlash = await this.#journal.readPayments(wanted.filter((w) => !this.#inflight.has(w.txId)))
      const byId = new Map(onFlash.map((r) => [r.txId, r]))
      return wanted.flatMap((w) => {
        const pending = this.#inflight.get(w.txId)
        const rec = pending ? copyPayment(pending) : byId.get(w.txId)
        return rec ? [rec] : []
      })
    } finally {
      this.#readers--
      if (this.#readers === 0) for (const f of this.#readersIdle.splice(0)) f()
    }
  }

  #noReaders(): Promise<void> {
    if (this.#readers === 0) return Promise.resolve()
    return new Promise((resolve) => this.#readersIdle.push(resolve))
  }

  async markSynced(txIds: Iterable<string>): Promise<number> {
    this.#check()
    const ids = [...new Set(txIds)].filter((id) => this.#index.isUnsynced(id))
    if (ids.length === 0) return 0
    let changed = 0
    const items: WriteItem[] = []
    for (let i = 0; i < ids.length; i += SYNCED_CHUNK) {
      const chunk = ids.slice(i, i + SYNCED_CHUNK)
      items.push({
        rec: { kind: 'synced', txIds: chunk },
        done: () => {
          for (const id of chunk) if (this.#index.markSynced(id)) changed++
        },
        undo: () => {},
      })
    }
    await this.#enqueueWrite(items)
    return changed
  }

  async markRefused(items: Iterable<{ txId: string; code: string }>): Promise<number> {
    this.#check()
    const seen = new Set<string>()
    const fresh = [...items].filter((i) => {
      if (seen.has(i.txId) || !this.#index.has(i.txId) || this.#index.isRefused(i.txId)) return false
      seen.add(i.txId)
      return true
    })
    if (fresh.length === 0) return 0
    let changed = 0
    const writes: WriteItem[] = []
    for (let i = 0; i < fresh.length; i += SYNCED_CHUNK) {
      const chunk = fresh.slice(i, i + SYNCED_CHUNK)
      writes.push({
        rec: { kind: 'refused', items: chunk },
        done: () => {
          for (const r of chunk) if (this.#index.markRefused(r.txId, r.code)) changed++
        },
        undo: () => {},
      })
    }
    await this.#enqueueWrite(writes)
    return changed
  }

  stats(): VaultStats {
    return {
      ...this.#index.stats(),
      bytes: this.#journal.bytes,
      segments: this.#journal.segmentNumbers().length,
    }
  }

  compact(now: number): Promise<CompactResult> {
    try {
      this.#check()
    } catch (err) {
      return Promise.reject(err)
    }
    return this.#enqueueTask(async () => {
      this.#check()
      try {
        return await this.#compact(now)
      } catch (err) {
        this.#fail(err)
        throw this.#failed
      }
    })
  }

  #plan(now: number): CompactionPlan {
    return planCompaction({
      entries: this.#index.entries(),
      notices: [...this.#index.noticeEntries()],
      expired: this.#index.expired(now, this.#retention),
      active: this.#journal.activeSegment,
      segments: this.#journal.segmentNumbers(),
      noticeKept: (n) => n.rec.receivedAt >= now - this.#retention.maxAgeMs,
    })
  }

  async #compact(now: number): Promise<CompactResult> {
    const { removable, carry, keepNotices } = this.#plan(now)
    if (removable.length === 0) return { segmentsRemoved: 0, dropped: 0, carried: 0 }
    // 1. Copy forward what must stay, refusals with their code; a cut after this leaves duplicates, which
    //    replay folds together.
    const records = await this.#read(carry)
    const refusals = carry.flatMap((e) =>
      e.refused !== undefined ? [{ txId: e.txId, code: e.refused }] : [],
    )
    await this.#write([
      ...records.map(
        (rec): WriteItem => ({
          rec,
          done: (l) => this.#index.locate(rec.txId, l.seg, l.off, l.len),
          undo: () => {},
        }),
      ),
      ...keepNotices.map(
        (n): WriteItem => ({
          rec: n.rec,
          done: (l) => this.#index.putNotice(n.rec, l.seg),
          undo: () => {},
        }),
      ),
      ...(refusals.length > 0
        ? [{ rec: { kind: 'refused' as const, items: refusals }, done: () => {}, undo: () => {} }]
        : []),
    ])
    // 2. Move the journal's authenticated start past the old segments; a cut after this only leaves files
    //    that the next open removes.
    await this.#journal.setStart(removable[removable.length - 1]! + 1)
    const gone = new Set(removable)
    let dropped = 0
    for (const e of [...this.#index.entries()]) {
      if (gone.has(e.seg)) {
        this.#index.removePayment(e.txId)
        dropped++
      }
    }
    for (const n of [...this.#index.noticeEntries()]) {
      if (gone.has(n.seg)) {
        this.#index.removeNotice(n.rec.ref)
        dropped++
      }
    }
    this.#journal.retire(removable)
    // 3. Remove the files once no reader still holds a location in them.
    await this.#noReaders()
    await this.#journal.removeFiles(removable)
    return { segmentsRemoved: removable.length, dropped, carried: carry.length + keepNotices.length }
  }

  /** Wait for queued writes, then release the file. Further calls fail with `closed`. */
  async close(): Promise<void> {
    if (this.#closed) return
    await this.#enqueueTask(async () => {
      this.#closed = true
      await this.#journal.close()
    })
  }
}
