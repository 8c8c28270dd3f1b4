/**
 * `FsLike.readFile(path, into)`: the journal's start-up reads every segment into one buffer. Both file layers
 * must read into the given buffer when it is large enough, return exactly the file's bytes, and fall back to a
 * fresh buffer when it is not.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { type FsLike, nodeFs } from '../../src/vault/fs.js'
import { SimFs } from '../../src/vault/sim-fs.js'

async function check(t: Test, fs: FsLike, path: string, write: (b: Uint8Array) => Promise<void>) {
  const bytes = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) & 0xff)
  await write(bytes)
  const scratch = new Uint8Array(8192).fill(0xee)
  const got = await fs.readFile(path, scratch)
  t.same(Buffer.from(got), Buffer.from(bytes), 'the file, exactly')
  t.equal(got.buffer, scratch.buffer, 'read into the given buffer')
  t.equal(got.byteOffset, 0)
  const small = new Uint8Array(100)
  const again = await fs.readFile(path, small)
  t.same(Buffer.from(again), Buffer.from(bytes), 'the file, from a fresh buffer')
  t.not(again.buffer, small.buffer, 'a buffer too small is not used')
  const shorter = bytes.subarray(0, 10)
  await write(shorter)
  const third = await fs.readFile(path, scratch)
  t.same(Buffer.from(third), Buffer.from(shorter), 'a shorter file: only its bytes, none of the previous')
}

t.test('node fs', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'opg-fs-into-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const path = join(dir, 'f')
  await check(t, nodeFs, path, (b) => writeFile(path, b))
})

t.test('simulated fs', async (t) => {
  const fs = new SimFs()
  await fs.mkdir('/d')
  await check(t, fs, '/d/f', async (b) => {
    const h = await fs.open('/d/f', 'write')
    await h.write(b)
    await h.datasync()
    await h.close()
  })
})
