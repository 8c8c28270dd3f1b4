/**
 * Start-up of the journal: find the segments, authenticate and replay every record in order, check the MAC
 * chain end to end, and repair a torn tail. A torn tail is what a power cut leaves: damage in the last,
 * never-acknowledged write batch of the last segment, above the high-water mark (high-water.ts). Anything
 * else that fails — a bad frame followed by frames of a later batch, damage at or below the mark, a broken
 * chain, a missing segment — is reported as damage (journal-damage.ts) and skipped: the box starts with every
 * intact record, nothing is cut, and nothing is dropped silently. Only a wrong key stops the start. A full segment ends with a seal (frame.ts): if its HMAC over the segment's bytes checks out,
 * the seal's summaries are applied without decrypting each record; if anything about it is off, the
 * segment is replayed record by record, which gives the verdict.
 */
import { createHmac, type Hmac } from 'node:crypto'
import { join } from 'node:path'
import { decodeFrame, type ReplayItem, type SealRecord, summarise } from './codec.js'
import {
  type Anchor,
  checkSegmentHeader,
  decryptUnauthenticated,
  FRAME_HEADER,
  headerLooksValid,
  openAnchor,
  openFrameAt,
  readSealTrailer,
  SEAL_TRAILER,
  SEGMENT_HEADER,
  sealTrailer,
  type VaultKeys,
} from './frame.js'
import { type FsLike, isNotFound } from './fs.js'
import { type JournalDamage, type SalvagedPayment, salvagePayment } from './journal-damage.js'
import { replaySeal, SealColumns, sealCount } from './seal.js'
import { isVaultError, VaultError } from './types.js'

export const ANCHOR_FILE = 'anchor'
const SEGMENT_RE = /^seg-(\d{12})\.vlt$/

export function segmentName(no: number): string {
  return `seg-${String(no).padStart(12, '0')}.vlt`
}

/** Where each retained segment starts in the chain, and how big it is. */
export interface SegmentInfo {
  firstSeq: number
  prevTag: Buffer
  bytes: number
}

/** What the writer needs to go on appending to the last segment. */
export interface TailState {
  sealed: boolean
  /** HMAC of the segment's bytes so far (for its seal). */
  hmac: Hmac
  /** Seal summaries of its records so far. */
  entries: SealColumns
}

export interface ReplayResult {
  /** Retained segments in order (ascending numbers). */
  segments: Map<number, SegmentInfo>
  nextSeq: number
  chainTag: Buffer
  /** Bytes cut from a torn tail (0 when the journal ended cleanly). */
  tornBytes: number
  /** Number of the segment to append to next; it exists in `segments` unless the journal is empty. */
  nextSegment: number
  tail: TailState | undefined
  /** Segments checked through their seal rather than record by record. */
  sealedSegments: number
  /** The last segment holds damage: append to a new segment, so it is never sealed over. */
  tailDamaged: boolean
}

export type ApplyItem = (item: ReplayItem, seg: number, off: number, len: number) => void

function corrupt(message: string, cause?: unknown): VaultError {
  return new VaultError('corrupt', message, cause === undefined ? undefined : { cause })
}

/** A Buffer view of the bytes, without copying. */
function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength)
}

async function readAnchor(fs: FsLike, dir: string, keys: VaultKeys): Promise<Anchor | undefined> {
  let bytes: Uint8Array
  try {
    bytes = await fs.readFile(join(dir, ANCHOR_FILE))
  } catch (err) {
    if (isNotFound(err)) return undefined
    throw err
  }
  const a = openAnchor(keys.anchor, bytes)
  if (!a) throw corrupt('the journal anchor does not authenticate')
  return a
}

/**
 * After a damaged frame at `pos` in the last segment: is it a torn tail? Only if no authenticated frame after
 * it belongs to a later write batch (a later batch is only written once the earlier one is durable).
 */
function isTornTail(keys: VaultKeys, buf: Buffer, pos: number, expectSeq: number): boolean {
  for (let q = pos + 1; q + FRAME_HEADER <= buf.length; q++) {
    if (!headerLooksValid(buf, q)) continue
    const r = openFrameAt(keys.journal, buf, q)
    if (r.kind !== 'ok') continue
    const batchFirst = r.frame.seq - r.frame.batchOffset
    if (batchFirst > expectSeq || r.frame.seq < expectSeq) return false
  }
  return true
}

/** The next offset after `pos` where an intact frame starts, or the end of the buffer. */
function nextIntact(keys: VaultKeys, buf: Buffer, pos: number): number {
  for (let q = pos + 1; q + FRAME_HEADER <= buf.length; q++) {
    if (headerLooksValid(buf, q) && openFrameAt(keys.journal, buf, q).kind === 'ok') return q
  }
  return buf.length
}

/** Damage found while replaying, with a copy of the bytes for the quarantine. */
export interface FoundDamage {
  damage: JournalDamage
  bytes: Uint8Array | undefined
}

/** Called for the identifiers salvaged from a damaged payment frame. */
export type OnSalvage = (s: SalvagedPayment, seg: number, off: number, len: number) => void

/** Chain position while replaying. */
interface Cursor {
  seq: number
  prev: Buffer
  /** Set after damage: the next intact frame restarts the chain wherever it stands. */
  resync: boolean
}

/** What replay needs besides the keys: the confirmed mark, and where damage and salvage go. */
export interface ReplayContext {
  keys: VaultKeys
  /** Last confirmed sequence number (-1 when unknown). */
  hwm: number
  damage: FoundDamage[]
  onSalvage: OnSalvage
}

/** Try the seal of segment `no`; true if it checked out and its entries were applied. */
function replaySealed(keys: VaultKeys, buf: Buffer, no: number, at: Cursor, apply: ApplyItem): boolean {
  const sealOff = readSealTrailer(buf)
  if (sealOff === undefined) return false
  const r = openFrameAt(keys.journal, buf, sealOff)
  if (r.kind !== 'ok' || r.frame.end !== buf.length - SEAL_TRAILER) return false
  let seal: SealRecord
  try {
    const rec = decodeFrame(r.frame.plain)
    if (rec.kind !== 'seal') return false
    seal = rec
  } catch {
    return false
  }
  const count = sealCount(seal.columns)
  // The seal's HMAC covers every byte before it (frames, padding, their chained tags), so the chain inside
  // the segment is vouched for by it; an empty segment's seal must chain straight on.
  const lastTagOk = count > 0 || r.frame.prevTag.equals(at.prev)
  const mac = createHmac('sha256', keys.seal).update(buf.subarray(0, sealOff)).digest()
  if (
    count < 0 ||
    seal.firstSeq !== at.seq ||
    !Buffer.from(seal.firstPrevTag).equals(at.prev) ||
    r.frame.seq !== at.seq + count ||
    !lastTagOk ||
    !mac.equals(seal.hmac)
  ) {
    return false
  }
  try {
    replaySeal(seal.columns, (item, off, len) => apply(item, no, off, len))
  } catch {
    // Applying is idempotent (ids are keys), so the record-by-record pass may safely go over them again.
    return false
  }
  at.seq = r.frame.seq + 1
  at.prev = Buffer.from(r.frame.tag)
  return true
}

/** Record damage at [pos, end) of segment `no`; salvage what a payment frame there still tells. */
function damaged(
  ctx: ReplayContext,
  buf: Buffer,
  no: number,
  pos: number,
  end: number,
  at: Cursor,
  reason: JournalDamage['reason'],
): void {
  const plain = decryptUnauthenticated(ctx.keys.journal, buf, pos)
  const salvaged = plain ? salvagePayment(plain) : undefined
  if (salvaged) ctx.onSalvage(salvaged, no, pos, end - pos)
  ctx.damage.push({
    damage: { reason, segment: no, offset: pos, length: end - pos, record: at.seq, confirmed: true },
    bytes: Buffer.from(buf.subarray(pos, end)),
  })
  at.resync = true
}

/**
 * Replay segment `no` record by record. Returns the length the file should have (shorter when a torn tail
 * is to be cut), whether it ends with a seal, and the seal entries of its records. Damage is recorded in
 * `ctx.damage` and skipped; only a torn tail (damage in the last batch of the last segment, above the
 * high-water mark, with no later batch after it) is cut.
 */
function replayFrames(
  ctx: ReplayContext,
  buf: Buffer,
  no: number,
  last: boolean,
  at: Cursor,
  apply: ApplyItem,
): { end: number; sealAt: number | undefined; trailerMissing: boolean; entries: SealColumns } {
  const { keys } = ctx
  const entries = new SealColumns()
  let pos = SEGMENT_HEADER
  while (pos < buf.length) {
    const r = openFrameAt(keys.journal, buf, pos)
    if (r.kind === 'ok') {
      const f = r.frame
      if (!at.resync && f.seq < at.seq) {
        ctx.damage.push({
          damage: {
            reason: 'out_of_order',
            segment: no,
            offset: pos,
            length: f.end - pos,
            record: f.seq,
            confirmed: false,
          },
          bytes: Buffer.from(buf.subarray(pos, f.end)),
        })
        // Authentic, so still a real record: applying is idempotent (ids are keys), and a payment is kept.
        try {
          const rec = decodeFrame(f.plain)
          if (rec.kind !== 'seal') {
            apply(
              rec.kind === 'payment' ? { kind: 'payment', summary: summarise(rec) } : rec,
              no,
              f.start,
              f.end - f.start,
            )
          }
        } catch {
          // Unreadable: the quarantine copy is all there is.
        }
        pos = f.next
        continue
      }
      if (f.seq !== at.seq || !f.prevTag.equals(at.prev)) {
        const gap = f.seq - at.seq
        const prev = ctx.damage[ctx.damage.length - 1]?.damage
        if (at.resync && prev && prev.segment <= no) prev.missingRecords = Math.max(0, gap)
        else {
          ctx.damage.push({
            damage: {
              reason: 'chain_gap',
              segment: no,
              offset: pos,
              length: 0,
              record: at.seq,
              missingRecords: Math.max(0, gap),
              confirmed: true,
            },
            bytes: undefined,
          })
        }
      }
      at.resync = false
      at.seq = f.seq + 1
      at.prev = f.tag
      let rec: ReturnType<typeof decodeFrame>
      try {
        rec = decodeFrame(f.plain)
      } catch {
        // Authentic but unreadable (written by a newer version?): keep it in quarantine, go on.
        damaged(ctx, buf, no, pos, f.end, { ...at }, 'damaged_frame')
        pos = f.next
        continue
      }
      if (rec.kind === 'seal') {
        // Only the trailer may follow a seal; a partial one (cut while written) is cut on the last segment.
        const rest = buf.length - f.end
        const trailerOk = rest === SEAL_TRAILER && readSealTrailer(buf) === f.start
        if (!trailerOk && !last) {
          ctx.damage.push({
            damage: {
              reason: 'damaged_frame',
              segment: no,
              offset: f.end,
              length: rest,
              record: at.seq,
              confirmed: false,
            },
            bytes: Buffer.from(buf.subarray(f.end)),
          })
        }
        return {
          end: trailerOk || !last ? buf.length : f.end,
          sealAt: f.start,
          trailerMissing: !trailerOk && last,
          entries,
        }
      }
      entries.add(rec, f.start, f.end - f.start)
      apply(
        rec.kind === 'payment' ? { kind: 'payment', summary: summarise(rec) } : rec,
        no,
        f.start,
        f.end - f.start,
      )
      pos = f.next
      continue
    }
    if (last && at.seq > ctx.hwm && isTornTail(keys, buf, pos, at.seq)) {
      return { end: pos, sealAt: undefined, trailerMissing: false, entries }
    }
    const next = nextIntact(keys, buf, pos)
    damaged(ctx, buf, no, pos, next, at, 'damaged_frame')
    pos = next
  }
  return { end: buf.length, sealAt: undefined, trailerMissing: false, entries }
}

/** Replay the journal in `dir`, calling `apply` for each record in order. Repairs a torn tail on disk. */
export async function replayJournal(
  fs: FsLike,
  dir: string,
  ctx: ReplayContext,
  apply: ApplyItem,
): Promise<ReplayResult> {
  const { keys } = ctx
  await fs.mkdir(dir)
  const names = await fs.readdir(dir)
  let dirty = false
  for (const n of names) {
    if (n.startsWith('.') && n.endsWith('.tmp')) {
      await fs.unlink(join(dir, n))
      dirty = true
    }
  }
  let segNos = names
    .map((n) => SEGMENT_RE.exec(n)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b)

  // Check the first header before the anchor so a wrong key is reported as such.
  if (segNos.length > 0) {
    const first = asBuffer(await fs.readFile(join(dir, segmentName(segNos[0]!))))
    if (checkSegmentHeader(keys.mac, first, segNos[0]!) === 'wrong_key') {
      throw new VaultError('wrong_key', 'the journal was written with another key')
    }
  }
  const gap = (no: number, record: number): void => {
    ctx.damage.push({
      damage: { reason: 'chain_gap', segment: no, offset: 0, length: 0, record, confirmed: true },
      bytes: undefined,
    })
  }
  let anchor: Anchor | undefined
  let resync = false
  try {
    anchor = await readAnchor(fs, dir, keys)
  } catch (err) {
    if (!isVaultError(err, 'corrupt')) throw err
    // A damaged anchor only said where the journal starts: replay what is there and report the start.
    resync = true
    gap(segNos[0] ?? 1, 0)
  }
  if (anchor) {
    // Segments before the anchor are left over from a compaction that was cut short.
    for (const no of segNos.filter((n) => n < anchor.firstSegment)) {
      await fs.unlink(join(dir, segmentName(no)))
      dirty = true
    }
    segNos = segNos.filter((n) => n >= anchor.firstSegment)
    if (segNos.length > 0 && segNos[0] !== anchor.firstSegment) {
      resync = true
      gap(segNos[0]!, anchor.firstSeq)
    }
  } else if (!resync && segNos.length > 0 && segNos[0] !== 1) {
    resync = true
    gap(segNos[0]!, 0)
  }

  const segments = new Map<number, SegmentInfo>()
  // Copies: tags read from a segment buffer are views that would keep the whole segment in memory.
  const at: Cursor = {
    seq: anchor?.firstSeq ?? 0,
    prev: Buffer.from(anchor?.prevTag ?? keys.genesis),
    resync,
  }
  let tornBytes = 0
  let nextSegment = anchor?.firstSegment ?? 1
  let tail: TailState | undefined
  let sealedSegments = 0
  let tailDamaged = false

  for (const [i, no] of segNos.entries()) {
    const last = i === segNos.length - 1
    if (i > 0 && no !== segNos[i - 1]! + 1) {
      at.resync = true
      gap(no, at.seq)
    }
    const path = join(dir, segmentName(no))
    const buf = asBuffer(await fs.readFile(path))
    const header = checkSegmentHeader(keys.mac, buf, no)
    if (header === 'torn' && last && buf.length <= SEGMENT_HEADER) {
      // Cut while the segment was being created: nothing was ever written to it.
      await fs.unlink(path)
      dirty = true
      nextSegment = no
      break
    }
    const damageBefore = ctx.damage.length
    const info: SegmentInfo = { firstSeq: at.seq, prevTag: Buffer.from(at.prev), bytes: buf.length }
    segments.set(no, info)
    nextSegment = no
    if (header !== 'ok') {
      // The header block is gone: its frames may still be intact and are replayed like any others.
      ctx.damage.push({
        damage: {
          reason: 'damaged_frame',
          segment: no,
          offset: 0,
          length: SEGMENT_HEADER,
          record: at.seq,
          confirmed: true,
        },
        bytes: Buffer.from(buf.subarray(0, SEGMENT_HEADER)),
      })
      at.resync = true
    } else if (!at.resync && replaySealed(keys, buf, no, at, apply)) {
      sealedSegments++
      if (last) tail = { sealed: true, hmac: createHmac('sha256', keys.seal), entries: new SealColumns() }
      continue
    }
    const r = replayFrames(ctx, buf, no, last, at, apply)
    at.prev = Buffer.from(at.prev)
    if (r.end < buf.length || r.trailerMissing) {
      tornBytes = buf.length - r.end
      const h = await fs.open(path, 'append')
      try {
        await h.truncate(r.end)
        // A seal whose trailer was cut short gets its trailer back, so the segment stays sealed.
        if (r.trailerMissing) await h.write(sealTrailer(r.sealAt!))
        await h.datasync()
      } finally {
        await h.close()
      }
      info.bytes = r.end + (r.trailerMissing ? SEAL_TRAILER : 0)
    }
    if (last) {
      tailDamaged = ctx.damage.length > damageBefore || header !== 'ok'
      const hmac = createHmac('sha256', keys.seal).update(buf.subarray(0, r.end))
      tail = { sealed: r.sealAt !== undefined, hmac, entries: r.entries }
    }
  }
  if (ctx.hwm >= at.seq) {
    // The journal ends before records the vault had confirmed: they were lost after they were written.
    const missing = ctx.hwm - at.seq + 1
    const trailing = at.resync ? ctx.damage[ctx.damage.length - 1]?.damage : undefined
    if (trailing) trailing.missingRecords = missing
    else {
      ctx.damage.push({
        damage: {
          reason: 'missing_records',
          segment: nextSegment,
          offset: segments.get(nextSegment)?.bytes ?? 0,
          length: 0,
          record: at.seq,
          missingRecords: missing,
          confirmed: true,
        },
        bytes: undefined,
      })
    }
  }
  if (dirty) await fs.syncDir(dir)
  return {
    segments,
    nextSeq: at.seq,
    chainTag: at.prev,
    tornBytes,
    nextSegment,
    tail,
    sealedSegments,
    tailDamaged,
  }
}
