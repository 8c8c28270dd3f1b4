/**
 * Replaying one segment: through its seal when the seal checks out, otherwise record by record — applying
 * every intact record, recording damage (with a copy of the bytes and what a damaged payment still tells)
 * and telling a torn tail (cut) from damage to confirmed records (kept, reported). journal-replay.ts walks
 * the segments and repairs the files.
 */
import { createHmac } from 'node:crypto'
import { decodeFrame, type ReplayItem, type SealRecord, summarise } from './codec.js'
import {
  decryptUnauthenticated,
  FRAME_HEADER,
  headerLooksValid,
  openFrameAt,
  readSealTrailer,
  SEAL_TRAILER,
  SEGMENT_HEADER,
  type VaultKeys,
} from './frame.js'
import { type JournalDamage, type SalvagedPayment, salvagePayment } from './journal-damage.js'
import { replaySeal, SealColumns, sealCount } from './seal.js'

/** Takes each replayed record in order; the item may be refilled for the next record, so copy what you keep. */
export type ApplyItem = (item: ReplayItem, seg: number, off: number, len: number) => void

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

/** True when every byte from `pos` to the end is zero: pre-allocated space no commit has written yet. */
export function zerosFrom(buf: Buffer, pos: number): boolean {
  for (let i = pos; i < buf.length; i++) if (buf[i] !== 0) return false
  return true
}

/** Damage found while replaying, with a copy of the bytes for the quarantine. */
export interface FoundDamage {
  damage: JournalDamage
  bytes: Uint8Array | undefined
}

/** Called for the identifiers salvaged from a damaged payment frame. */
export type OnSalvage = (s: SalvagedPayment, seg: number, off: number, len: number) => void

/** Chain position while replaying. */
export interface Cursor {
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
export function replaySealed(
  keys: VaultKeys,
  buf: Buffer,
  no: number,
  at: Cursor,
  apply: ApplyItem,
): boolean {
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
export function replayFrames(
  ctx: ReplayContext,
  buf: Buffer,
  no: number,
  last: boolean,
  at: Cursor,
  apply: ApplyItem,
): {
  end: number
  sealAt: number | undefined
  trailerMissing: boolean
  entries: SealColumns
  /** The bytes from `end` on are pre-allocated zeros, not a torn tail: keep them, cut nothing. */
  zeroTail?: boolean
} {
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
        // Only the trailer may follow a seal; a partial one (cut while written) is cut on the last segment,
        // as are the pre-allocated zeros a seal cut before its truncate leaves after it.
        const rest = buf.length - f.end
        const trailerOk = rest === SEAL_TRAILER && readSealTrailer(buf) === f.start
        if (!trailerOk && !last && !zerosFrom(buf, f.end)) {
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
    // Zeros to the end: space written ahead of the commits (journal-writer.ts), or a write that never
    // reached the card. Records confirmed but lost there are reported against the high-water mark
    // (journal-replay.ts), and a later segment's frames would show the chain gap.
    if (zerosFrom(buf, pos)) {
      return { end: pos, sealAt: undefined, trailerMissing: false, entries, zeroTail: true }
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
