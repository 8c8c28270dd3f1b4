/**
 * The on-flash side of the file vault: the segment files, the MAC chain's position, one batch of frames per
 * durable write, segment seals, reading frames back, and the compaction primitives (anchor, segment
 * removal). It keeps no indexes and does no queuing; FileVault serialises every call that writes.
 *
 * Flash programs whole blocks, so appending a frame into a partly filled block rewrites the block, and a
 * power cut during that rewrite can destroy the frame already confirmed in it. So every write batch is
 * padded with zeros to the next block boundary (`blockBytes`, 4 KiB by default; its last frame says so in
 * its authenticated header), and a segment's header goes out with its first batch: no write ever touches a
 * block holding a confirmed byte. The cost — up to one block per commit, shared by every payment of a group
 * commit — is measured in docs/BENCHMARKS.md. After each commit the high-water mark (high-water.ts) is
 * moved in the background, so start-up can tell damage to confirmed records from a torn write.
 *
 * Segments are pre-allocated: zeros are written ahead of the commits in extents of `preallocBytes` (one
 * durable write per extent), and each commit then overwrites zeros in place (O_DSYNC pwrite). On ext4 and
 * similar file systems an overwrite inside allocated blocks that does not change the file size needs no
 * metadata update, so a commit costs one data write instead of a data write plus a journal commit for the
 * new block and size. Replay (segment-replay.ts) reads the zeros after the last frame as space not yet
 * written; a seal truncates the segment to its end. `preallocBytes: 0` appends as before.
 */
import { createHmac, type Hmac } from 'node:crypto'
import { join } from 'node:path'
import { decodeRecord, encodeRecord, encodeSeal } from './codec.js'
import {
  alignUp,
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
import { HighWaterMark, readHighWater } from './high-water.js'
import type { FoundDamage, OnSalvage } from './journal-replay.js'
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
  readonly #block: number
  readonly #padShift: number
  readonly #prealloc: number
  #mark: HighWaterMark | undefined
  #segments = new Map<number, SegmentInfo>()
  #active:
    | {
        no: number
        handle: FileHandleLike
        /** Bytes of data (header, frames, padding, seal). */
        size: number
        /** Size of the file: data plus pre-allocated zeros. */
        allocated: number
        sealed: boolean
        hmac: Hmac
        entries: SealColumns
      }
    | undefined
  #nextSeq = 0
  #chainTag: Buffer = Buffer.alloc(16)
  readonly #nonces = new NoncePool()
  /** Bytes cut from a torn tail when the journal was opened. */
  tornBytes = 0
  /** Segments checked through their seal at open. */
  sealedAtOpen = 0
  /** Damage found at open (not yet quarantined). */
  damage: FoundDamage[] = []
  /** The high-water mark file existed but did not authenticate at open. */
  markUnreadable = false
  /** Bytes handed to the file system for commits, padding and marks (write amplification figures). */
  bytesWritten = 0
  /** Of `bytesWritten`, the zeros written to pre-allocate segments. */
  zeroBytes = 0

  constructor(
    fs: FsLike,
    dir: string,
    keys: VaultKeys,
    segmentBytes: number,
    blockBytes = 4096,
    preallocBytes = 256 * 1024,
  ) {
    if (!Number.isInteger(Math.log2(blockBytes)) || blockBytes < 512 || blockBytes > 1 << 20) {
      throw new RangeError('blockBytes must be a power of two from 512 to 1 MiB')
    }
    if (!Number.isInteger(preallocBytes) || preallocBytes < 0 || preallocBytes % blockBytes !== 0) {
      throw new RangeError('preallocBytes must be 0 or a whole number of blocks')
    }
    this.#prealloc = preallocBytes
    this.#fs = fs
    this.#dir = dir
    this.#keys = keys
    this.#segmentBytes = segmentBytes
    this.#block = blockBytes
    this.#padShift = Math.log2(blockBytes)
  }

  /** Replay the journal through `apply`, repair a torn tail, and open the segment to append to. */
  async open(apply: ApplyItem, onSalvage: OnSalvage): Promise<void> {
    await this.#fs.mkdir(this.#dir)
    const hwm = await readHighWater(this.#fs, this.#dir, this.#keys.mac, this.#block)
    this.markUnreadable = hwm.unreadable
    const ctx = { keys: this.#keys, hwm: hwm.seq, damage: [] as FoundDamage[], onSalvage }
    const r = await replayJournal(this.#fs, this.#dir, ctx, apply)
    this.damage = ctx.damage
    this.#segments = r.segments
    // New records never reuse the sequence number of a confirmed record that was lost: the gap stays visible.
    this.#nextSeq = Math.max(r.nextSeq, hwm.seq + 1)
    this.#chainTag = r.chainTag
    this.tornBytes = r.tornBytes
    this.sealedAtOpen = r.sealedSegments
    this.#mark = new HighWaterMark(
      this.#fs,
      this.#dir,
      this.#keys.mac,
      this.#block,
      this.#nextSeq - 1,
      hwm.newer,
    )
    const info = r.segments.get(r.nextSegment)
    if (info && r.tail) {
      const handle = await this.#fs.open(this.#path(r.nextSegment), 'update-sync')
      const allocated = Math.max(info.bytes, await handle.size())
      this.#active = { no: r.nextSegment, handle, size: info.bytes, allocated, ...r.tail }
      // A tail that is not on a block boundary (written before padding existed) or holds damage is left as it
      // is: new commits go to a fresh segment, so no confirmed block is rewritten and no damage is sealed over.
      if (!r.tail.sealed && (r.tailDamaged || info.bytes % this.#block !== 0)) {
        await handle.close()
        await this.#createSegment(r.nextSegment + 1)
      }
    } else {
      await this.#createSegment(r.nextSegment)
    }
  }

  /** Resolves once the high-water mark covers every commit so far. */
  settleMark(): Promise<void> {
    return this.#mark?.settle() ?? Promise.resolve()
  }
  /** The high-water mark known durable (last confirmed sequence number). */
  get markSeq(): number {
    return this.#mark?.durable ?? -1
  }
  /** Mark writes done since open. */
  get markWrites(): number {
    return this.#mark?.writes ?? 0
  }

  #path(no: number): string {
    return join(this.#dir, segmentName(no))
  }

  /** Open a new, empty segment; its header is written with its first batch (see #write). */
  async #createSegment(no: number): Promise<void> {
    // Each write through this handle is durable when it returns (O_DSYNC): one system call per commit.
    const handle = await this.#fs.open(this.#path(no), 'update-sync')
    this.#segments.set(no, { firstSeq: this.#nextSeq, prevTag: this.#chainTag, bytes: 0 })
    const hmac = createHmac('sha256', this.#keys.seal)
    this.#active = { no, handle, size: 0, allocated: 0, sealed: false, hmac, entries: new SealColumns() }
  }

  /**
   * Make sure the file holds at least `end` bytes, writing zeros (durably, O_DSYNC) one extent at a time,
   * never past the segment size unless a commit needs it. Zeros are what replay reads as unwritten space.
   */
  async #reserve(end: number): Promise<void> {
    const active = this.#active!
    if (this.#prealloc === 0 || end <= active.allocated) return
    const target = Math.max(end, Math.min(this.#segmentBytes, alignUp(end, this.#prealloc)))
    // One block per write call, through a handle without O_DSYNC, then one fdatasync: a single large write
    // lets the kernel cache the extent as one large folio, and a later 4 KiB commit into it would then
    // dirty, and write back, the whole folio (measured: 256 KiB of device writes per commit).
    const h = await this.#fs.open(this.#path(active.no), 'append')
    try {
      const zeros = Buffer.alloc(this.#block)
      for (let at = active.allocated; at < target; at += this.#block) {
        await h.write(at + this.#block <= target ? zeros : zeros.subarray(0, target - at))
      }
      await h.datasync()
    } finally {
      await h.close()
    }
    this.bytesWritten += target - active.allocated
    this.zeroBytes += target - active.allocated
    active.allocated = target
  }

  /**
   * One durable write to the active segment. The first write of a segment carries its header and is
   * followed by a directory fsync, so the new file's name is durable before anything in it is confirmed.
   */
  async #write(bytes: Buffer): Promise<void> {
    const active = this.#active!
    const first = active.size === 0
    const out = first ? Buffer.concat([segmentHeader(this.#keys.mac, active.no), bytes]) : bytes
    await this.#reserve(active.size + out.length)
    await active.handle.writeAt(out, active.size)
    if (first) await this.#fs.syncDir(this.#dir)
    active.allocated = Math.max(active.allocated, active.size + out.length)
    this.bytesWritten += out.length
    active.hmac.update(out)
    active.size += out.length
    this.#segments.get(active.no)!.bytes = active.size
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
    // The seal starts on a fresh block (the batch before it was padded); nothing is written after it.
    await active.handle.writeAt(Buffer.concat([f.bytes, sealTrailer(active.size)]), active.size)
    this.bytesWritten += f.bytes.length + SEAL_TRAILER
    active.size += f.bytes.length + SEAL_TRAILER
    // The trailer must end the file: drop the pre-allocated zeros after it. Cut before this, replay finds
    // the seal followed by zeros and gives it its trailer back (journal-replay.ts).
    if (active.allocated > active.size) {
      await active.handle.truncate(active.size)
      await active.handle.datasync()
      active.allocated = active.size
    }
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
    if (
      active.sealed ||
      (active.size > 0 && active.size + alignUp(total, this.#block) > this.#segmentBytes)
    ) {
      if (!active.sealed) await this.#seal()
      await active.handle.close()
      await this.#createSegment(active.no + 1)
      active = this.#active!
    }
    const batchFirst = this.#nextSeq
    const frames: Buffer[] = []
    const locs: FrameLocation[] = []
    let off = active.size === 0 ? SEGMENT_HEADER : active.size
    plains.forEach((p, i) => {
      const seq = this.#nextSeq
      const pad = i === plains.length - 1 ? this.#padShift : 0
      const f = sealFrame(this.#keys.journal, seq, seq - batchFirst, this.#chainTag, p, this.#nonces, pad)
      frames.push(f.bytes)
      locs.push({ seg: active.no, off, len: f.bytes.length })
      off += f.bytes.length
      this.#chainTag = f.tag
      this.#nextSeq = seq + 1
    })
    // Zeros up to the block boundary: the next commit starts on a block no confirmed frame lives in.
    const padding = alignUp(off, this.#block) - off
    if (padding > 0) frames.push(Buffer.alloc(padding))
    await this.#write(frames.length === 1 ? frames[0]! : Buffer.concat(frames))
    records.forEach((rec, i) => {
      active.entries.add(rec, locs[i]!.off, locs[i]!.len)
    })
    this.#mark?.advance(this.#nextSeq - 1)
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
    await this.#mark?.close()
    await this.#active?.handle.close()
  }
}
