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
import {
  type Anchor,
  checkSegmentHeader,
  openAnchor,
  SEAL_TRAILER,
  SEGMENT_HEADER,
  sealTrailer,
  type VaultKeys,
} from './frame.js'
import { type FsLike, isNotFound } from './fs.js'
import { SealColumns } from './seal.js'
import {
  type ApplyItem,
  type Cursor,
  type ReplayContext,
  replayFrames,
  replaySealed,
  zerosFrom,
} from './segment-replay.js'

export type { ApplyItem, FoundDamage, OnSalvage, ReplayContext } from './segment-replay.js'

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
  let scratch: Buffer | undefined

  for (const [i, no] of segNos.entries()) {
    const last = i === segNos.length - 1
    if (i > 0 && no !== segNos[i - 1]! + 1) {
      at.resync = true
      gap(no, at.seq)
    }
    const path = join(dir, segmentName(no))
    // One buffer for every segment (they are pre-allocated to the same size): nothing below keeps a view of it
    // past its segment (tags, damage bytes and decrypted records are copies), and allocating a fresh 4 MiB per
    // segment cost the box's start-up ~0.3 s of page faults and returns to the kernel under the unit's malloc
    // settings (node-runtime/README.md, "Built runtime").
    const buf = asBuffer(await fs.readFile(path, scratch))
    if (buf.byteOffset === 0 && buf.length === buf.buffer.byteLength && buf.buffer !== scratch?.buffer)
      scratch = buf
    const header = checkSegmentHeader(keys.mac, buf, no)
    if (header === 'torn' && last && (buf.length <= SEGMENT_HEADER || zerosFrom(buf, 0))) {
      // Cut while the segment was being created (or pre-allocated): nothing was ever committed to it.
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
    if (r.zeroTail) {
      // Pre-allocated zeros after the last frame: the writer goes on overwriting them.
      info.bytes = r.end
    } else if (r.end < buf.length || r.trailerMissing) {
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
