// The data directory's lock is released by the kernel: a pid file naming some live process after a reboot
// blocks nothing, a SIGKILLed node leaves nothing behind, and a second real opg-node on the same directory is
// refused with the holder's pid.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, mkdtemp, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { controlSocketPath } from '../../src/node/control.js'
import { acquireLock, LOCK_ID_FILE } from '../../src/node/lock.js'
import { makeWorld, randomId } from '../accept/fixtures.js'
import { runOpgNode, startOpgNode, stopOpgNode } from '../sync/cli-run.js'
import { provisionBox } from '../sync/provision.js'

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'opg-lock-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** A live process that has nothing to do with opg (what a reused pid points at after a reboot). */
async function unrelatedProcess(t: Test): Promise<number> {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' })
  await once(child, 'spawn')
  t.teardown(() => child.kill('SIGKILL'))
  return child.pid!
}

t.test('in one process: held, refused, released; every path to the directory is one lock', async (t) => {
  const dir = await tempDir(t)
  const data = join(dir, 'data')
  const lock = await acquireLock(data)
  t.match(lock.name, /^@opg-node\/[0-9a-f]{32}$/)
  await t.rejects(acquireLock(data), {
    code: 'already_running',
    message: new RegExp(`another opg-node \\(pid ${process.pid}\\) is using`),
  })
  await symlink(data, join(dir, 'alias'))
  await t.rejects(acquireLock(join(dir, 'alias')), { code: 'already_running' }, 'through a symlink too')
  await lock.release()
  const again = await acquireLock(join(dir, 'alias'))
  await again.release()
  t.match(await readFile(join(data, LOCK_ID_FILE), 'utf8'), /^[0-9a-f]{32}\n$/)
})

t.test('a damaged lock id is replaced, not fatal', async (t) => {
  const data = join(await tempDir(t), 'data')
  await (await acquireLock(data)).release()
  await writeFile(join(data, LOCK_ID_FILE), '\xff\x00garbage')
  const lock = await acquireLock(data)
  t.teardown(() => lock.release())
  t.match(await readFile(join(data, LOCK_ID_FILE), 'utf8'), /^[0-9a-f]{32}\n$/)
})

t.test('reused pid: a lock file naming a live unrelated process does not block the box', async (t) => {
  const dir = await tempDir(t)
  const box = await provisionBox(dir, makeWorld(randomId()))
  const pid = await unrelatedProcess(t)
  // What the previous version left behind at a power cut, now naming a process that is alive.
  await mkdir(box.dataDir, { recursive: true, mode: 0o700 })
  await writeFile(join(box.dataDir, 'opg-node.lock'), `${pid}\n`)
  const status = await runOpgNode(['status', '--config', box.configPath])
  t.equal(status.code, 0, status.stderr)
  t.match(status.stdout, 'node not running')
  const node = await startOpgNode(box.configPath, controlSocketPath(box.dataDir))
  t.teardown(() => stopOpgNode(node, 'SIGKILL'))
  t.equal(await stopOpgNode(node), 0, 'it started and stops cleanly')
})

t.test('two real opg-node processes on one data dir: the second is refused; SIGKILL frees it', async (t) => {
  const dir = await tempDir(t)
  const box = await provisionBox(dir, makeWorld(randomId()))
  const socket = controlSocketPath(box.dataDir)
  const first = await startOpgNode(box.configPath, socket)
  t.teardown(() => stopOpgNode(first, 'SIGKILL'))

  const second = await runOpgNode(['start', '--config', box.configPath, '--sim'])
  t.equal(second.code, 1, 'refused')
  t.match(second.stderr, 'already running')

  // Even with the control socket's file gone (a cleanup job, a careless technician), the kernel lock holds.
  await unlink(socket)
  const third = await runOpgNode(['start', '--config', box.configPath, '--sim'])
  t.equal(third.code, 1, 'still refused')
  t.match(third.stderr, `another opg-node (pid ${first.pid}) is using ${box.dataDir}`)

  // kill -9: no cleanup runs, yet the next start finds the lock free at once.
  await stopOpgNode(first, 'SIGKILL')
  const after = await startOpgNode(box.configPath, socket)
  t.teardown(() => stopOpgNode(after, 'SIGKILL'))
  t.equal(await stopOpgNode(after), 0)
})
