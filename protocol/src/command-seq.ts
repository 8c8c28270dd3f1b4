/**
 * The replay rule for bridge → box commands (SPEC.md §8.1), as a pure function both sides share. The bridge
 * numbers every command to a box from one counter per device; the box keeps, per command type, the highest
 * seq it applied, in its encrypted state. A command is applied only when its seq is above that mark, so a
 * recorded `time` cannot roll the clock back and a recorded `revocations` cannot un-revoke a wallet — even
 * though both still open correctly (the seal authenticates, it does not say "new").
 * Per type rather than one global mark: two commands sent close together may reach the box in either order
 * (QoS 1 redelivery, two bridge replicas), and a late `invoice_paid` must not be lost because a newer `time`
 * overtook it — while two commands of one type carry whole state, so the newer one always wins.
 */
import type { Command } from './mqtt.js'

/** Highest applied seq per command type. */
export type CommandMarks = Partial<Record<Command['type'], number>>

export type SeqVerdict = { apply: true; marks: CommandMarks } | { apply: false; last: number }

/** Decide whether to apply `cmd`; on apply, returns the marks to persist before acting on it. */
export function checkCommandSeq(marks: CommandMarks, cmd: Pick<Command, 'type' | 'seq'>): SeqVerdict {
  const last = marks[cmd.type] ?? 0
  if (!(cmd.seq > last)) return { apply: false, last }
  return { apply: true, marks: { ...marks, [cmd.type]: cmd.seq } }
}
