/**
 * One process per data directory: the journal must never have two writers. `acquireLock` creates
 * `<dataDir>/opg-node.lock` exclusively with this process's pid; a lock left by a dead process (power cut,
 * SIGKILL) is taken over, a lock held by a live one is refused with ControlError('already_running').
 */
import { mkdir, open, readFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { ControlError } from './control.js'

export const LOCK_FILE = 'opg-node.lock'

/** A held lock; `release()` removes the file (only if it is still ours). */
export interface DataDirLock {
  path: string
  release(): Promise<void>
}

export async function acquireLock(dataDir: string, pid: number = process.pid): Promise<DataDirLock> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const path = join(dataDir, LOCK_FILE)
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o600)
      await fh.writeFile(`${pid}\n`)
      await fh.sync()
      await fh.close()
      return {
        path,
        async release() {
          const holder = await readHolder(path)
          if (holder === pid) await unlink(path).catch(() => {})
        },
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const holder = await readHolder(path)
    if (holder !== undefined && holder !== pid && isAlive(holder)) {
      throw new ControlError('already_running', `process ${holder} holds ${path}`)
    }
    // Left behind by a process that no longer runs (or unreadable): take it over.
    await unlink(path).catch(() => {})
  }
  throw new ControlError('already_running', `cannot take ${path}`)
}

async function readHolder(path: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt((await readFile(path, 'utf8')).trim(), 10)
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it exists but belongs to another user — alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
