/**
 * Which segments compaction removes, as a pure function of the index (plan, then execute: FileVault copies
 * forward and removes). It takes the longest run of oldest segments in which no synced payment is still
 * retained, stopping at a segment that would only be copied forward whole (removing it frees nothing).
 * Unsynced and refused payments and retained notices in them are carried forward; a segment holding a
 * damaged payment is never removed (its bytes are the evidence).
 */
import type { IndexEntry, NoticeEntry } from './vault-index.js'

export interface CompactionInput {
  entries: Iterable<IndexEntry>
  notices: NoticeEntry[]
  /** Synced payments the retention policy lets go now. */
  expired: Set<string>
  /** The segment being appended to (never removed). */
  active: number
  /** Retained segment numbers, oldest first. */
  segments: number[]
  /** Whether a notice must still be kept. */
  noticeKept: (n: NoticeEntry) => boolean
}

export interface CompactionPlan {
  removable: number[]
  /** Payments to copy forward (unsynced, or refused: with their refusal). */
  carry: IndexEntry[]
  keepNotices: NoticeEntry[]
}

export function planCompaction(i: CompactionInput): CompactionPlan {
  const blocked = new Set<number>()
  const frees = new Set<number>()
  const copies = new Map<number, number>()
  const carryBySeg = new Map<number, IndexEntry[]>()
  for (const e of i.entries) {
    if (e.seg < 0 || e.seg >= i.active) continue
    if (e.damaged) blocked.add(e.seg)
    else if (!e.synced || e.refused !== undefined) {
      const list = carryBySeg.get(e.seg)
      if (list) list.push(e)
      else carryBySeg.set(e.seg, [e])
      copies.set(e.seg, (copies.get(e.seg) ?? 0) + 1)
    } else if (i.expired.has(e.txId)) frees.add(e.seg)
    else blocked.add(e.seg)
  }
  for (const n of i.notices) {
    if (!i.noticeKept(n)) frees.add(n.seg)
    else copies.set(n.seg, (copies.get(n.seg) ?? 0) + 1)
  }
  const removable: number[] = []
  for (const no of i.segments) {
    if (no >= i.active || blocked.has(no)) break
    if ((copies.get(no) ?? 0) > 0 && !frees.has(no)) break
    removable.push(no)
  }
  const gone = new Set(removable)
  return {
    removable,
    carry: removable.flatMap((no) => carryBySeg.get(no) ?? []),
    keepNotices: i.notices.filter((n) => gone.has(n.seg) && i.noticeKept(n)),
  }
}
