/** The lowdb state store: encrypted, authenticated, and whole across power cuts. */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deriveKey, id8ToBytes } from '@opg/protocol'
import { nodeBackend as c } from '@opg/protocol/node'
import t from 'tap'
import { isVaultError, type NodeState, openStateStore, SimFs, seededRandom } from '../../src/vault/index.js'
import { KEY, OTHER_KEY } from './fixtures.js'

interface TestState extends NodeState {
  cursor: number
  revoked: string[]
}
const defaults: TestState = { version: 1, cursor: 0, revoked: [] }

t.test('round-trips through real files, encrypted', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'opg-state-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  // The node keys its state with the device's 'state' purpose key, never the vault key.
  const secret = new Uint8Array(16).fill(3)
  const id = id8ToBytes('2222222222222222')
  const key = deriveKey(c, secret, 'state', id)
  const vaultKey = deriveKey(c, secret, 'vault', id)
  const db = await openStateStore({ dir, key, defaults })
  t.same(db.data, defaults, 'defaults when no file exists')
  await db.update((d) => {
    d.cursor = 42
    d.revoked.push('badwallet0000001')
  })
  const raw = await readFile(join(dir, 'state.bin'))
  t.notOk(raw.includes('badwallet0000001'), 'the file holds no plaintext')
  const again = await openStateStore({ dir, key, defaults })
  t.same(again.data, { version: 1, cursor: 42, revoked: ['badwallet0000001'] })
  t.notOk(Buffer.from(key).equals(Buffer.from(vaultKey)), 'its key is not the vault key')
})

t.test('a tampered file or a foreign key is an error, not an empty state', async (t) => {
  const fs = new SimFs()
  const db = await openStateStore({ dir: '/s', key: KEY, defaults, fs })
  db.data.cursor = 7
  await db.write()
  await t.rejects(openStateStore({ dir: '/s', key: OTHER_KEY, defaults, fs }), { code: 'corrupt' })
  const bytes = fs.peek('/s/state.bin')
  fs.poke('/s/state.bin', bytes.length - 3, new Uint8Array([(bytes[bytes.length - 3] ?? 0) ^ 1]))
  const err = await openStateStore({ dir: '/s', key: KEY, defaults, fs }).catch((e: unknown) => e)
  t.ok(isVaultError(err, 'corrupt'))
})

t.test('writes are fsynced, renamed and the directory fsynced', async (t) => {
  const fs = new SimFs()
  const db = await openStateStore({ dir: '/s', key: KEY, defaults, fs })
  db.data.cursor = 1
  await db.write()
  t.equal(fs.counters.syncs, 1)
  t.equal(fs.counters.renames, 1)
  t.equal(fs.counters.dirSyncs, 1)
  // A write that resolved survives even a crash that drops every unsynced byte and name.
  const after = fs.crash(() => 0)
  const back = await openStateStore({ dir: '/s', key: KEY, defaults, fs: after })
  t.equal(back.data.cursor, 1)
})

t.test('overlapping writes coalesce and the last state wins', async (t) => {
  const fs = new SimFs()
  const db = await openStateStore({ dir: '/s', key: KEY, defaults, fs })
  const writes: Promise<void>[] = []
  for (let i = 1; i <= 10; i++) {
    db.data.cursor = i
    writes.push(db.write())
  }
  await Promise.all(writes)
  t.ok(fs.counters.renames <= 2, `${fs.counters.renames} file replacements for 10 writes`)
  const back = await openStateStore({ dir: '/s', key: KEY, defaults, fs })
  t.equal(back.data.cursor, 10)
})

t.test('after a power cut at any point the state is the old or the new one, whole', async (t) => {
  for (let seed = 1; seed <= 60; seed++) {
    const rng = seededRandom(seed)
    const fs = new SimFs()
    const db = await openStateStore({ dir: '/s', key: KEY, defaults, fs })
    db.data.cursor = 1
    await db.write()
    fs.cutAfter(Math.floor(rng() * 6))
    db.data.cursor = 2
    const done = await db.write().then(
      () => true,
      () => false,
    )
    const back = await openStateStore({ dir: '/s', key: KEY, defaults, fs: fs.crash(rng) })
    if (done) t.equal(back.data.cursor, 2, `seed ${seed}: resolved write kept`)
    else t.ok(back.data.cursor === 1 || back.data.cursor === 2, `seed ${seed}: old or new`)
  }
})
