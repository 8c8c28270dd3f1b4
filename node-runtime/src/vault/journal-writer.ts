/**
 * The on-flash side of the file vault: the segment files, the MAC chain's position, one batch of frames per
 * durable write, segment seals, reading frames back, and the compaction primitives (anchor, segment
 * removal). It keeps no indexes and does no queuing; FileVault serialises every call that writes.
 */
import { createHmac, type Hmac } from 'node:crypto'
import { join } from 'node:path'
import { decodeRecord, encodeRecord, encodeSeal } from './codec.js'
import {
  FRAME_HEADER,
  NoncePool,
  openFrameAt,
  SEAL_TRAILER,
  SEGMENT_HEADER,
  sealAnchor,
  sealFrame,
  sealTrailer,
  segmentHeader,
  type VaultKeys,
} from './frame.js'
import { type FileHandleLike, type FsLike, writeFileDurably } from './fs.js'
import {
  ANCHOR_FILE,
  type ApplyItem,
  replayJournal,
  type SegmentInfo,
  segmentName,
} from './journal-replay.js'
import { SealColumns } from './seal.js'
import { type PaymentRecord, VaultError, type VaultRecord } from './types.js'

/** Where a frame lives. */
export interface FrameLocation {
  seg: number
  off: number
  len: number
}

export class JournalWriter {
  readonly #fs: FsLike
  readonly #dir: string
  readonly #keys: VaultKeys
  readonly #segmentBytes: number
  #segments = new Map<number, SegmentInfo>()
  #active:
    | { no: number; handle: FileHandleLike; size: number; sealed: boolean; hmac: Hmac; entries: SealColumns }
    | undefined
  #nextSeq = 0
  #chainTag: Buffer = Buffer.alloc(16)
  readonly #nonces = new NoncePool()
  /** Bytes cut from a torn tail when the journal was opened. */
  tornBytes = 0
  /** Segments checked through their seal at open. */
  sealedAtOpen = 0

  constructor(fs: FsLike, dir: string, keys: VaultKeys, segmentBytes: number) {
    this.#fs = fs
    this.#dir = dir
    this.#keys = keys
    this.#segmentBytes = segmentBytes
  }

  /** Replay the journal through `apply`, repair a torn tail, and open the segment to append to. */
  async open(apply: ApplyItem): Promise<void> {
    const r = await replayJournal(this.#fs, this.#dir, this.#keys, apply)
    this.#segments = r.segments
    this.#nextSeq = r.nextSeq
    this.#chainTag = r.chainTag
    this.tornBytes = r.tornBytes
    this.sealedAtOpen = r.sealedSegments
    const info = r.segments.get(r.nextSegment)
    if (info && r.tail) {
      const handle = await this.#fs.open(this.#path(r.nextSegment), 'append-sync')
      this.#active = { no: r.nextSegment, handle, size: info.bytes, ...r.tail }
    } else {
      await this.#createSegment(r.nextSegment)
    }
  }

  #path(no: number): string {
    return join(this.#dir, segmentName(no))
  }

  async #createSegment(no: number): Promise<void> {
    // Each write through this handle is durable when it returns (O_DSYNC): one system call per commit.
    const handle = await this.#fs.open(this.#path(no), 'append-sync')
    const header = segmentHeader(this.#keys.mac, no)
    try {
      await handle.write(header)
      await this.#fs.syncDir(this.#dir)
    } catch (err) {
      await handle.close()
      throw err
    }
    this.#segments.set(no, { firstSeq: this.#nextSeq, prevTag: this.#chainTag, bytes: SEGMENT_HEADER })
    const hmac = createHmac('sha256', this.#keys.seal).update(header)
    this.#active = { no, handle, size: SEGMENT_HEADER, sealed: false, hmac, entries: new SealColumns() }
  }

  /** End the active segment with its seal: HMAC of its bytes and the summaries of its records. */
  async #seal(): Promise<void> {
    const active = this.#active!
    const info = this.#segments.get(active.no)!
    const plain = encodeSeal({
      kind: 'seal',
      hmac: active.hmac.digest(),
      firstSeq: info.firstSeq,
      firstPrevTag: info.prevTag,
      columns: active.entries.toCbor(),
    })
    const f = sealFrame(this.#keys.journal, this.#nextSeq, 0, this.#chainTag, plain, this.#nonces)
    this.#nextSeq++
    this.#chainTag = f.tag
    await active.handle.write(Buffer.concat([f.bytes, sealTrailer(active.size)]))
    active.size += f.bytes.length + SEAL_TRAILER
    active.sealed = true
    active.entries = new SealColumns()
    info.bytes = active.size
  }

  /** Number of the segment being appended to. */
  get activeSegment(): number {
    return this.#active!.no
  }
  /** Retained segment numbers, oldest first. */
  segmentNumbers(): number[] {
    return [...this.#segments.keys()]
  }
  get bytes(): number {
    let n = 0
    for (const s of this.#segments.values()) n += s.bytes
    return n
  }

  /**
   * Append the records as one durable write (O_DSYNC: write + fdatasync in one system call), starting a new
   * segment first if this one is full.
   * Returns where each landed. If it throws, the chain position is lost: the caller must stop writing.
   */
  async writeBatch(records: VaultRecord[]): Promise<FrameLocation[]> {
    if (records.length === 0) return []
    const plains = records.map(encodeRecord)
    let total = 0
    for (const p of plains) total += FRAME_HEADER + p.length + 16
    let active = this.#active!
    if (active.sealed || (active.size > SEGMENT_HEADER && active.size + total > this.#segmentBytes)) {
      if (!active.sealed) await this.#seal()
      await active.handle.close()
      await this.#createSegment(active.no + 1)
      active = this.#active!
    }
    const batchFirst = this.#nextSeq
    const frames: Buffer[] = []
    const locs: FrameLocation[] = []
    let off = active.size
    for (const p of plains) {
      const seq = this.#nextSeq
      const f = sealFrame(this.#keys.journal, seq, seq - batchFirst, this.#chainTag, p, this.#nonces)
      frames.push(f.bytes)
      locs.push({ seg: active.no, off, len: f.bytes.length })
      off += f.bytes.length
      this.#chainTag = f.tag
      this.#nextSeq = seq + 1
    }
    const bytes = frames.length === 1 ? frames[0]! : Buffer.concat(frames)
    await active.handle.write(bytes)
    active.hmac.update(bytes)
    records.forEach((rec, i) => {
      active.entries.add(rec, locs[i]!.off, locs[i]!.len)
    })
    active.size = off
    this.#segments.get(active.no)!.bytes = off
    return locs
  }

  /** Read payments back; `wanted` must be locations of payment frames. */
  async readPayments(wanted: (FrameLocation & { txId: string })[]): Promise<PaymentRecord[]> {
    const out: PaymentRecord[] = []
    const handles = new Map<number, FileHandleLike>()
    try {
      for (const w of wanted) {
        let h = handles.get(w.seg)
        if (!h) {
          h = await this.#fs.open(this.#path(w.seg), 'read')
          handles.set(w.seg, h)
        }
        const r = openFrameAt(this.#keys.journal, Buffer.from(await h.read(w.len, w.off)), 0)
        const rec = r.kind === 'ok' ? decodeRecord(r.frame.plain) : undefined
        if (rec?.kind !== 'payment' || rec.txId !== w.txId) {
          throw new VaultError('corrupt', `stored payment ${w.txId} no longer reads back`)
        }
        out.push(rec)
      }
    } finally {
      for (const h of handles.values()) await h.close()
    }
    return out
  }

  /** Durably record that the journal now starts at segment `first` (which must be retained). */
  async setStart(first: number): Promise<void> {
    const info = this.#segments.get(first)
    if (!info) throw new RangeError(`segment ${first} is not retained`)
    const anchor = sealAnchor(this.#keys.anchor, {
      firstSegment: first,
      firstSeq: info.firstSeq,
      prevTag: info.prevTag,
    })
    await writeFileDurably(this.#fs, join(this.#dir, ANCHOR_FILE), anchor)
  }

  /** Forget segments (after `setStart` moved past them) so nothing new reads them. */
  retire(nos: number[]): void {
    for (const no of nos) this.#segments.delete(no)
  }

  /** Remove retired segment files. */
  async removeFiles(nos: number[]): Promise<void> {
    for (const no of nos) await this.#fs.unlink(this.#path(no))
    await this.#fs.syncDir(this.#dir)
  }

  async close(): Promise<void> {
    await this.#active?.handle.close()
  }
}
