/**
 * One process per data directory: the journal must never have two writers. The lock is a Linux
 * abstract-namespace unix socket bound by the holder. The kernel owns it and frees it the instant the process
 * ends in any way (exit, SIGKILL, OOM kill, power cut), so nothing can go stale. The old lock, a pid in a file,
 * survived reboots, and a new process that happened to get the same pid blocked every start.
 *
 * The socket's name comes from a random id kept in `<dataDir>/lock-id`, not from the path:
 * - every path to the directory (symlinks, bind mounts) maps to the same lock;
 * - only the data directory's owner can read the id (the directory is 0700), so another local user cannot bind
 *   the name first and keep the node from starting (abstract sockets have no file permissions).
 * A second process gets ControlError('already_running') naming the holder's pid, which the holder's socket
 * answers with.
 *
 * Limit: abstract sockets belong to a network namespace. Two containers with separate network namespaces that
 * mount one data directory would not see each other's lock; run one node per data directory (as the systemd unit
 * and the container image do).
 */
import { randomBytes } from 'node:crypto'
import { link, mkdir, open, readFile, rename, unlink } from 'node:fs/promises'
import { connect, createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { ControlError } from './control.js'

/** Holds the random id the lock's socket name is made from. */
export const LOCK_ID_FILE = 'lock-id'
/** The pid file of earlier versions: ignored, and removed so nobody mistakes it for a lock. */
const LEGACY_LOCK_FILE = 'opg-node.lock'

/** A held lock; `release()` frees it (so does the end of the process, however it ends). */
export interface DataDirLock {
  /** The abstract socket's name, as `ss -xl` shows it (`@opg-node/…`). */
  name: string
  release(): Promise<void>
}

/** Takes the data directory's lock or throws ControlError('already_running'). */
export async function acquireLock(dataDir: string): Promise<DataDirLock> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const id = await lockId(dataDir)
  const name = `\0opg-node/${id}`
  const server = createServer((s) => {
    s.on('error', () => {})
    s.end(`${process.pid}\n`)
  })
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(name, () => {
        server.off('error', reject)
        resolve()
      })
    })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') {
      throw new ControlError('failed', `cannot take the lock of ${dataDir}`, { cause: err })
    }
    const holder = await askHolder(name)
    throw new ControlError(
      'already_running',
      `another opg-node${holder ? ` (pid ${holder})` : ''} is using ${dataDir}; stop it first`,
    )
  }
  // The lock must not keep an otherwise finished process alive.
  server.unref()
  await unlink(join(dataDir, LEGACY_LOCK_FILE)).catch(() => {})
  return {
    name: `@${name.slice(1)}`,
    release: () => close(server),
  }
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()))
}

/** Asks the holder for its pid (best effort: a holder that is just exiting may not answer). */
function askHolder(name: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = connect(name)
    let buf = ''
    const done = (pid?: number) => {
      clearTimeout(timer)
      s.destroy()
      resolve(pid)
    }
    const timer = setTimeout(() => done(), 1000)
    s.setEncoding('utf8')
    s.on('data', (d: string) => {
      buf += d
    })
    s.on('end', () => {
      const pid = Number.parseInt(buf.trim(), 10)
      done(Number.isSafeInteger(pid) && pid > 0 ? pid : undefined)
    })
    s.on('error', () => done())
  })
}

const ID_FORMAT = /^[0-9a-f]{32}$/

/**
 * Reads the directory's lock id, creating it on first use. Creation writes a synced temporary file and
 * hard-links it into place, which fails if another process got there first — so two processes starting on a
 * fresh directory still agree on one id. A damaged id (a flipped bit on the card) is replaced.
 */
async function lockId(dataDir: string): Promise<string> {
  const path = join(dataDir, LOCK_ID_FILE)
  for (let attempt = 0; attempt < 3; attempt++) {
    const existing = await readFile(path, 'utf8').then(
      (s) => s.trim(),
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined
        throw err
      },
    )
    if (existing !== undefined && ID_FORMAT.test(existing)) return existing
    const id = randomBytes(16).toString('hex')
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`
    const fh = await open(tmp, 'wx', 0o600)
    try {
      await fh.writeFile(`${id}\n`)
      await fh.sync()
    } finally {
      await fh.close()
    }
    try {
      if (existing === undefined) await link(tmp, path)
      else await rename(tmp, path)
      await syncDir(dataDir)
      return id
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    } finally {
      await unlink(tmp).catch(() => {})
    }
  }
  throw new ControlError('failed', `cannot read or create ${path}`)
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}
