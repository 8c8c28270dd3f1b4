// The embedded store on disk holds phone numbers and key hashes: nobody but the bridge's user may read it.
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { migrate } from '../../src/db/migrate.js'
import { openDb } from '../../src/db/open.js'
import { seedTenant } from '../support/databases.js'

// PGlite on disk under a loaded machine: migrations take a while.
t.setTimeout(240_000)

/** Every path under `dir` (itself included) whose mode lets group or others in, with its mode. */
async function exposed(dir: string): Promise<string[]> {
  const out: string[] = []
  const walk = async (p: string) => {
    const st = await stat(p)
    if ((st.mode & 0o077) !== 0) out.push(`${p} ${(st.mode & 0o777).toString(8)}`)
    if (st.isDirectory()) for (const n of await readdir(p)) await walk(join(p, n))
  }
  await walk(dir)
  return out
}

t.test('a new PGlite data directory is 0700 and everything in it the owner’s alone', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'opg-rest-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  // The usual permissive umask of a service account, which PGlite's 0666 files would otherwise inherit.
  process.umask(0o022)
  const dir = join(root, 'data')
  const db = await openDb(dir, { warn: () => {} })
  await migrate(db)
  await seedTenant(db)
  await db.close()
  t.equal((await stat(dir)).mode & 0o777, 0o700, 'the directory is 0700')
  const files = await readdir(dir, { recursive: true })
  t.ok(files.length > 100, `PGlite wrote its files (${files.length})`)
  t.same(await exposed(dir), [], 'no file or folder readable by group or others')
})

t.test('an existing directory left open by an older version is tightened on open', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'opg-rest-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  process.umask(0)
  const dir = join(root, 'data')
  const first = await openDb(dir, { warn: () => {} })
  await migrate(first, { upTo: 99 })
  await first.close()
  // What the store looked like before: world-writable folders and world-readable files.
  process.umask(0)
  await mkdir(join(dir, 'base', 'legacy'), { recursive: true, mode: 0o777 })
  await writeFile(join(dir, 'base', 'legacy', 'wal-copy'), 'phone numbers', { mode: 0o666 })
  t.ok((await exposed(dir)).length > 0, 'the old layout is exposed')
  const again = await openDb(dir, { warn: () => {} })
  await seedTenant(again)
  await again.close()
  t.same(await exposed(dir), [], 'tightened to the owner')
  t.equal((await stat(join(dir, 'base', 'legacy', 'wal-copy'))).mode & 0o777, 0o600)
})
