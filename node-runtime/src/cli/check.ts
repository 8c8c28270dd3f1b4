/**
 * `opg-node check` and `opg-node repair`: the box's storage examined offline, for a field technician.
 *
 *   check   reads the journal and the state file and reports, changing nothing (a dry file system takes
 *           every write). Exit 0 when the box is healthy or all damage is already quarantined, 1 otherwise.
 *   repair  does what `start` does on its own, without starting: cuts a torn tail, copies damaged journal
 *           bytes to vault/quarantine/ with their position (report.json lists them), moves an unreadable
 *           state.bin aside and rebuilds it. Exit 0 once the box can start.
 *
 * Both refuse while a node runs on the data directory (the journal must have one writer).
 */
import { join } from 'node:path'
import { deriveKey, id8ToBytes } from '@opg/protocol'
import { nodeBackend } from '@opg/protocol/node'
import type { NodeConfig } from '../config/schema.js'
import type { NodeSecrets } from '../config/secrets.js'
import { assertNotRunning, controlSocketPath } from '../node/control.js'
import { checkIdentity } from '../node/identity.js'
import { acquireLock } from '../node/lock.js'
import { describeDamage, openStateOrRebuild } from '../node/storage-health.js'
import { FileVault } from '../vault/file-vault.js'
import { type FileHandleLike, type FsLike, nodeFs } from '../vault/fs.js'
import { readQuarantineReport } from '../vault/journal-damage.js'

/** What check or repair found (printed, or as JSON with --json). */
export interface CheckReport {
  mode: 'check' | 'repair'
  healthy: boolean
  journal: {
    payments: number
    unsynced: number
    refused: number
    damagedPayments: number
    segments: number
    /** Bytes of a torn, never-acknowledged write at the end (cut by repair or start). */
    tornBytes: number
    /** Damage not yet in the quarantine report (repair or start will quarantine it). */
    newDamage: string[]
    /** Damage already quarantined earlier (kept listed for the operator). */
    quarantined: string[]
  }
  state: { ok: boolean; problem?: string; rebuiltAs?: string }
  actions: string[]
}

const nullHandle: FileHandleLike = {
  async write() {},
  async writeAt() {},
  async read() {
    return new Uint8Array(0)
  },
  async datasync() {},
  async sync() {},
  async truncate() {},
  async size() {
    return 0
  },
  async close() {},
}

/** Reads go to the disk, every write goes nowhere: `check` must not change what it examines. */
function dryFs(fs: FsLike): FsLike {
  return {
    mkdir: async () => {},
    readdir: (p) => fs.readdir(p).catch(() => []),
    readFile: (p, into) => fs.readFile(p, into),
    open: (p, mode) => (mode === 'read' ? fs.open(p, mode) : Promise.resolve(nullHandle)),
    rename: async () => {},
    unlink: async () => {},
    syncDir: async () => {},
  }
}

/** Examine (and with `repair`, recover) the data directory of a stopped box. */
export async function checkStorage(
  config: NodeConfig,
  secrets: NodeSecrets,
  repair: boolean,
): Promise<CheckReport> {
  const c = nodeBackend
  const identity = checkIdentity(c, config, secrets)
  await assertNotRunning(controlSocketPath(config.dataDir))
  const lock = await acquireLock(config.dataDir)
  try {
    const fs = repair ? nodeFs : dryFs(nodeFs)
    const dir = join(config.dataDir, 'vault')
    const idBytes = id8ToBytes(config.deviceId)
    const before = await readQuarantineReport(nodeFs, dir)
    const known = new Set(before.map((d) => `${d.reason}:${d.segment}:${d.offset}`))
    const vault = await FileVault.open({
      dir,
      key: deriveKey(c, identity.deviceSecret, 'vault', idBytes),
      fs,
    })
    const s = vault.stats()
    const damage = vault.damage
    const tornBytes = vault.tornBytes
    await vault.close()
    const fresh = damage.filter((d) => !known.has(`${d.reason}:${d.segment}:${d.offset}`))
    const opened = await openStateOrRebuild({
      dir: config.dataDir,
      key: deriveKey(c, identity.deviceSecret, 'state', idBytes),
      rebuild: repair,
    })
    const actions: string[] = []
    if (repair) {
      if (tornBytes > 0)
        actions.push(`cut a torn, never-acknowledged write of ${tornBytes} byte(s) at the journal's end`)
      for (const d of fresh) actions.push(`quarantined: ${describeDamage(d)}`)
      if (opened.rebuilt)
        actions.push(`state.bin rebuilt; the unreadable file is kept as ${opened.rebuilt.movedTo}`)
    }
    const stateOk = opened.rebuilt === undefined
    return {
      mode: repair ? 'repair' : 'check',
      healthy: repair || (stateOk && fresh.length === 0),
      journal: {
        payments: s.records,
        unsynced: s.unsyncedCount,
        refused: s.refusedCount,
        damagedPayments: s.damagedCount,
        segments: s.segments,
        tornBytes,
        newDamage: repair ? [] : fresh.map(describeDamage),
        quarantined: (repair ? damage : damage.filter((d) => !fresh.includes(d))).map(describeDamage),
      },
      state: stateOk
        ? { ok: true }
        : { ok: repair, problem: opened.rebuilt!.reason, ...(repair ? { rebuiltAs: 'state.bin' } : {}) },
      actions,
    }
  } finally {
    await lock.release()
  }
}

/** The report as a technician reads it. */
export function formatCheck(r: CheckReport): string {
  const j = r.journal
  const lines = [
    `journal     ${j.payments} payment(s) in ${j.segments} segment(s): ${j.unsynced} unsynced, ${j.refused} refused, ${j.damagedPayments} damaged`,
    ...(j.tornBytes > 0
      ? [`torn tail   ${j.tornBytes} byte(s) of a write the power cut (never acknowledged)`]
      : []),
    ...j.newDamage.map((d) => `DAMAGE      ${d}`),
    ...j.quarantined.map((d) => `quarantined ${d}`),
    `state       ${r.state.ok ? 'ok' : `DAMAGED: ${r.state.problem}`}`,
    ...r.actions.map((a) => `repaired    ${a}`),
  ]
  if (r.mode === 'check') {
    lines.push(
      r.healthy
        ? 'verdict     healthy'
        : 'verdict     problems found: run `opg-node repair` (start also recovers by itself)',
    )
  } else lines.push('verdict     the box can start; quarantined damage stays listed in status')
  return lines.join('\n')
}
