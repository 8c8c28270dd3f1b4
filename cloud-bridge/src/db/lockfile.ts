/**
 * A pid-checked lockfile beside a PGlite data directory. PGlite takes no lock of its own, and two processes
 * opening one directory would corrupt it; a lock left by a process that died is taken over.
 */
import { open, readFile, unlink } from 'node:fs/promises'
import { DbError } from './errors.js'

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** A held lock; `release()` removes the file. */
export interface HeldLock {
  readonly path: string
  release(): Promise<void>
}

/** Take the lock at `path` or throw DbError('store_locked') naming the live holder. */
export async function acquireLock(path: string): Promise<HeldLock> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx')
      await fh.writeFile(`${process.pid}\n`)
      await fh.sync()
      await fh.close()
      return {
        path,
        release: async () => {
          await unlink(path).catch(() => {})
        },
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const holder = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10)
    if (Number.isInteger(holder) && holder > 0 && alive(holder)) {
      throw new DbError('store_locked', `embedded store is in use by process ${holder} (lock ${path})`)
    }
    // Stale (holder gone, or the file is empty because its writer died mid-write): take it over.
    await unlink(path).catch(() => {})
  }
  throw new DbError('store_locked', `could not take the lock ${path}`)
}
