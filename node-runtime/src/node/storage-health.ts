/**
 * How the box comes back from damaged storage, shared by `opg-node start` and `opg-node check|repair`:
 * a state file that does not authenticate (a flipped bit, an empty file) is moved aside and rebuilt from
 * what can be rebuilt — the clock floor from the vault, revocations and config overrides from the bridge's
 * next messages, the last sync time on the next ack — with a loud warning and an alert in status; journal
 * damage is quarantined by the vault itself (vault/journal-damage.ts) and listed here for status.
 */
import { join } from 'node:path'
import { type FsLike, nodeFs } from '../vault/fs.js'
import type { JournalDamage } from '../vault/journal-damage.js'
import { type NodeState, openStateStore } from '../vault/state-store.js'
import { isVaultError } from '../vault/types.js'

/** What status reports about the box's storage. Empty `alerts` means healthy. */
export interface StorageHealth {
  /** Journal damage found at the last open, each quarantined under the vault directory. */
  journalDamage: JournalDamage[]
  /** Set when the state file was unreadable at open and rebuilt. */
  stateRebuilt?: { reason: string; movedTo: string; at: number }
  /** Bytes of a torn (never acknowledged) write cut at open. */
  tornBytes: number
  /** One line per problem an operator must look at. */
  alerts: string[]
}

/** One line for an operator. */
export function describeDamage(d: JournalDamage): string {
  const where = `segment ${d.segment} offset ${d.offset}`
  const lost = d.missingRecords ? `, ${d.missingRecords} record(s) lost` : ''
  const copy = d.quarantined ? `, bytes in ${d.quarantined}` : ''
  switch (d.reason) {
    case 'damaged_frame':
      return `journal: ${d.length} damaged byte(s) at ${where} (record ${d.record})${lost}${copy}`
    case 'chain_gap':
      return `journal: records missing before ${where} (from record ${d.record})${lost}`
    case 'out_of_order':
      return `journal: record ${d.record} out of place at ${where}${copy}`
    case 'missing_records':
      return `journal: ends before confirmed record ${d.record + (d.missingRecords ?? 1) - 1}${lost}`
    case 'mark_unreadable':
      return 'journal: the high-water mark file does not authenticate (rewritten at the next commit)'
  }
}

/** The health report from what the open found. */
export function storageHealth(
  damage: JournalDamage[],
  tornBytes: number,
  stateRebuilt?: StorageHealth['stateRebuilt'],
): StorageHealth {
  const alerts = damage.map(describeDamage)
  if (stateRebuilt) {
    alerts.push(
      `state: ${stateRebuilt.reason}; rebuilt (clock floor from the vault, the rest from the bridge), old file kept as ${stateRebuilt.movedTo}`,
    )
  }
  return { journalDamage: damage, tornBytes, alerts, ...(stateRebuilt ? { stateRebuilt } : {}) }
}

export interface StateOpenOptions {
  dir: string
  key: Uint8Array
  fs?: FsLike
  /** Wall-clock time for the name of the file moved aside. */
  now?: () => number
  /** false: report only, never move or rewrite anything (`opg-node check`). */
  rebuild?: boolean
}

/**
 * Open the state store; if its file does not authenticate, move it aside as `state.bin.damaged-<ms>` and
 * start from defaults. Errors other than damage (permissions, I/O) still throw.
 */
export async function openStateOrRebuild(o: StateOpenOptions) {
  const fs = o.fs ?? nodeFs
  const open = () => openStateStore<NodeState>({ dir: o.dir, key: o.key, fs, defaults: { version: 1 } })
  try {
    return { state: await open(), rebuilt: undefined }
  } catch (err) {
    if (!isVaultError(err, 'corrupt')) throw err
    const at = (o.now ?? Date.now)()
    const movedTo = `state.bin.damaged-${at}`
    const rebuilt = { reason: err.message.replace(/^state file \S+ /, 'state.bin '), movedTo, at }
    if (o.rebuild === false) return { state: undefined, rebuilt }
    await fs.rename(join(o.dir, 'state.bin'), join(o.dir, movedTo))
    await fs.syncDir(o.dir)
    const state = await open()
    // Written at once, so the next start finds a good file even if this one never changes anything.
    await state.write()
    return { state, rebuilt }
  }
}
