import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { FileVault, SimFs } from '../../src/vault/index.js'
import { vaultContract } from './contract.js'
import { KEY, payment } from './fixtures.js'

t.test('file vault on real files meets the vault contract', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'opg-vault-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  let n = 0
  let dir = ''
  await vaultContract(t, {
    open: () => {
      dir = join(root, `v${n++}`)
      return FileVault.open({ dir, key: KEY })
    },
    reopen: () => FileVault.open({ dir, key: KEY }),
  })
})

t.test('file vault on the simulated file system meets the vault contract', async (t) => {
  let fs = new SimFs()
  await vaultContract(t, {
    open: () => {
      fs = new SimFs()
      return FileVault.open({ dir: '/data/vault', key: KEY, fs, segmentBytes: 2048 })
    },
    reopen: () => FileVault.open({ dir: '/data/vault', key: KEY, fs, segmentBytes: 2048 }),
  })
})

t.test('on real files a torn tail is cut and a flipped byte is quarantined', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'opg-vault-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  const dir = join(root, 'v')
  const v = await FileVault.open({ dir, key: KEY, preallocBytes: 0 })
  for (let i = 1; i <= 5; i++) await v.append(payment(i))
  await v.close()
  const file = join(dir, 'seg-000000000001.vlt')
  const whole = await readFile(file)
  const mark = await readFile(join(dir, 'hwm'))
  // A sixth record, half written: the power went before the write returned, so the high-water mark is
  // still the one from before it.
  const w = await FileVault.open({ dir, key: KEY, preallocBytes: 0 })
  await w.append(payment(6))
  await w.close()
  const six = await readFile(file)
  await writeFile(file, six.subarray(0, whole.length + 300))
  await writeFile(join(dir, 'hwm'), mark)
  const torn = await FileVault.open({ dir, key: KEY, preallocBytes: 0 })
  t.equal(torn.stats().records, 5)
  t.ok(torn.tornBytes > 0)
  t.same(torn.damage, [])
  await torn.close()
  t.equal((await readFile(file)).length, whole.length, 'the file was truncated back')
  const flipped = Buffer.from(whole)
  flipped[200] = (flipped[200] ?? 0) ^ 1
  await writeFile(file, flipped)
  const back = await FileVault.open({ dir, key: KEY, preallocBytes: 0 })
  t.equal(back.damage.length, 1, 'the flip is reported')
  t.ok(back.damage[0]?.quarantined)
  for (let i = 2; i <= 5; i++) t.ok(back.has(payment(i).txId), `payment ${i} kept`)
  await back.close()
})
