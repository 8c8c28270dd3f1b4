/**
 * Start-up of the journal: find the segments, authenticate and replay every record in order, check the MAC
 * chain end to end, and repair a torn tail. A torn tail is what a power cut leaves: damage in the last,
 * never-acknowledged write batch of the last segment. Anything else that fails — a bad frame followed by
 * frames of a later batch, a broken chain, a missing segment — is a hard `corrupt` error: nothing is dropped
 * silently. A full segment ends with a seal (frame.ts): if its HMAC over the segment's bytes checks out,
 * the seal's summaries are applied without decrypting each record; if anything about it is off, the
 * segment is replayed record by record, which gives the verdict.
 */
import { createHmac, type Hmac } from 'node:crypto'
import { join } from 'node:path'
import { decodeFrame, type ReplayItem, type SealRecord, summarise } from './codec.js'
import {
  type Anchor,
  checkSegmentHeader,
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
import { replaySeal, SealColumns, sealCount } from './seal.js'
import { VaultError } from './types.js'

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

/** Chain position while replaying. */
interface Cursor {
  seq: number
  prev: Buffer
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
  const lastTag = count > 0 ? buf.subarray(sealOff - 16, sealOff) : at.prev
  const mac = createHmac('sha256', keys.seal).update(buf.subarray(0, sealOff)).digest()
  if (
    count < 0 ||
    seal.firstSeq !== at.seq ||
    !Buffer.from(seal.firstPrevTag).equals(at.prev) ||
    r.frame.seq !== at.seq + count ||
    !r.frame.prevTag.equals(lastTag) ||
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

/**
 * Replay segment `no` record by record. Returns the length the file should have (shorter when a torn tail
 * is to be cut), whether it ends with a seal, and the seal entries of its records.
 */
function replayFrames(
  keys: VaultKeys,
  buf: Buffer,
  no: number,
  last: boolean,
  at: Cursor,
  apply: ApplyItem,
): { end: number; sealAt: number | undefined; trailerMissing: boolean; entries: SealColumns } {
  const entries = new SealColumns()
  let pos = SEGMENT_HEADER
  while (pos < buf.length) {
    const r = openFrameAt(keys.journal, buf, pos)
    if (r.kind === 'ok') {
      const f = r.frame
      if (f.seq !== at.seq || !f.prevTag.equals(at.prev)) {
        throw corrupt(`journal chain broken at record ${at.seq} (segment ${no}, offset ${pos})`)
      }
      let rec: ReturnType<typeof decodeFrame>
      try {
        rec = decodeFrame(f.plain)
      } catch (err) {
        throw corrupt(`journal record ${f.seq} does not decode`, err)
      }
      at.seq = f.seq + 1
      at.prev = f.tag
      if (rec.kind === 'seal') {
        // Only the trailer may follow a seal; a partial one (cut while written) is cut on the last segment.
        const rest = buf.length - f.end
        const trailerOk = rest === SEAL_TRAILER && readSealTrailer(buf) === f.start
        if (!trailerOk && !last) throw corrupt(`journal segment ${no} has a bad seal trailer`)
        return { end: trailerOk ? buf.length : f.end, sealAt: f.start, trailerMissing: !trailerOk, entries }
      }
      entries.add(rec, f.start, f.end - f.start)
      apply(
        rec.kind === 'payment' ? { kind: 'payment', summary: summarise(rec) } : rec,
        no,
        f.start,
        f.end - f.start,
      )
      pos = f.end
      continue
    }
    if (!last || !isTornTail(keys, buf, pos, at.seq)) {
      throw corrupt(`journal record ${at.seq} is damaged (segment ${no}, offset ${pos}): ${r.kind}`)
    }
    return { end: pos, sealAt: undefined, trailerMissing: false, entries }
  }
  return { end: buf.length, sealAt: undefined, trailerMissing: false, entries }
}

/** Replay the journal in `dir`, calling `apply` for each record in order. Repairs a torn tail on disk. */
export async function replayJournal(
  fs: FsLike,
  dir: string,
  keys: VaultKeys,
  apply: ApplyItem,
): Promise<ReplayResult> {
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
  const anchor = await readAnchor(fs, dir, keys)
  if (anchor) {
    // Segments before the anchor are left over from a compaction that was cut short.
    for (const no of segNos.filter((n) => n < anchor.firstSegment)) {
      await fs.unlink(join(dir, segmentName(no)))
      dirty = true
    }
    segNos = segNos.filter((n) => n >= anchor.firstSegment)
    if (segNos[0] !== anchor.firstSegment) throw corrupt('the first retained journal segment is missing')
  } else if (segNos.length > 0 && segNos[0] !== 1) {
    throw corrupt('the start of the journal is missing')
  }
  segNos.forEach((no, i) => {
    if (no !== segNos[0]! + i) throw corrupt(`journal segment ${segNos[0]! + i} is missing`)
  })

  const segments = new Map<number, SegmentInfo>()
  // Copies: tags read from a segment buffer are views that would keep the whole segment in memory.
  const at: Cursor = { seq: anchor?.firstSeq ?? 0, prev: Buffer.from(anchor?.prevTag ?? keys.genesis) }
  let tornBytes = 0
  let nextSegment = anchor?.firstSegment ?? 1
  let tail: TailState | undefined
  let sealedSegments = 0

  for (const [i, no] of segNos.entries()) {
    const last = i === segNos.length - 1
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
    if (header !== 'ok') throw corrupt(`journal segment ${no} has a bad header (${header})`)
    const info: SegmentInfo = { firstSeq: at.seq, prevTag: Buffer.from(at.prev), bytes: buf.length }
    segments.set(no, info)
    nextSegment = no
    if (replaySealed(keys, buf, no, at, apply)) {
      sealedSegments++
      if (last) tail = { sealed: true, hmac: createHmac('sha256', keys.seal), entries: new SealColumns() }
      continue
    }
    const r = replayFrames(keys, buf, no, last, at, apply)
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
      const hmac = createHmac('sha256', keys.seal).update(buf.subarray(0, r.end))
      tail = { sealed: r.sealAt !== undefined, hmac, entries: r.entries }
    }
  }
  if (dirty) await fs.syncDir(dir)
  return { segments, nextSeq: at.seq, chainTag: at.prev, tornBytes, nextSegment, tail, sealedSegments }
}
