/**
 * Recovery of a box from damaged storage, as real `opg-node` processes: a flipped bit in state.bin, an
 * empty state.bin and a flipped bit in an old journal frame. `check` reports without changing anything,
 * `repair` quarantines and rebuilds, and `start` comes up by itself with every intact payment, the damage in
 * status. Payments are issued relative to the real clock.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deriveKey, id8ToBytes } from '@opg/protocol'
import { nodeBackend as c } from '@opg/protocol/node'
import t from 'tap'
import { controlSocketPath } from '../src/node/control.js'
import type { NodeReport } from '../src/node/opg-node.js'
import { FileVault, openStateStore, type PaymentRecord } from '../src/vault/index.js'
import { makeWorld, randomId, type TestWorld } from './accept/fixtures.js'
import { runOpgNode, startOpgNode, stopOpgNode } from './sync/cli-run.js'
import { provisionBox } from './sync/provision.js'

function payment(world: TestWorld, i: number): PaymentRecord {
  return {
    kind: 'payment',
    txId: `0192f000-0000-7000-8000-${i.toString(16).padStart(12, '0')}`,
    walletId: 'a1a1a1a1a1a1a1a1',
    counter: i,
    amount: 100 * i,
    currency: 'EUR',
    merchantId: '1111222233334444',
    deviceId: world.deviceId,
    // Relative to the real clock: the box's clock floor is the newest payment.
    acceptedAt: Date.now() - (10 - i) * 60_000,
    channel: 'qr',
    token: new Uint8Array(300).fill(i),
    receipt: new Uint8Array(120).fill(i),
  }
}

/** A provisioned box whose vault holds four payments and whose state file exists. */
async function boxWithPayments(t: { teardown(fn: () => unknown): void }) {
  const dir = await mkdtemp(join(tmpdir(), 'opg-check-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const world = makeWorld(randomId())
  const box = await provisionBox(dir, world)
  const id = id8ToBytes(world.deviceId)
  const vault = await FileVault.open({
    dir: join(box.dataDir, 'vault'),
    key: deriveKey(c, world.deviceSecret, 'vault', id),
  })
  for (let i = 1; i <= 4; i++) await vault.append(payment(world, i))
  await vault.close()
  const state = await openStateStore({
    dir: box.dataDir,
    key: deriveKey(c, world.deviceSecret, 'state', id),
    defaults: { version: 1 as const, sync: { lastSyncAt: Date.now() - 3_600_000 } },
  })
  await state.write()
  return { box, world }
}

const SEG1 = 'vault/seg-000000000001.vlt'
async function flip(path: string, at: number): Promise<void> {
  const b = await readFile(path)
  b[at] = (b[at] ?? 0) ^ 0x04
  await writeFile(path, b)
}

t.test('check reports, repair recovers, and the box starts with every intact payment', async (t) => {
  const { box } = await boxWithPayments(t)
  const healthy = await runOpgNode(['check', '--config', box.configPath])
  t.equal(healthy.code, 0, healthy.stderr)
  t.match(healthy.stdout, /4 payment\(s\)/)
  t.match(healthy.stdout, 'verdict     healthy')

  // One bit in state.bin and one in the body of the oldest journal frame (commit 2 starts at 4096).
  await flip(join(box.dataDir, 'state.bin'), 40)
  await flip(join(box.dataDir, SEG1), 4096 + 150)
  const stateBefore = await readFile(join(box.dataDir, 'state.bin'))
  const journalBefore = await readFile(join(box.dataDir, SEG1))
  const check = await runOpgNode(['check', '--config', box.configPath, '--json'])
  t.equal(check.code, 1, 'problems found')
  const r = JSON.parse(check.stdout)
  t.equal(r.state.ok, false)
  t.match(r.state.problem, 'does not authenticate')
  t.equal(r.journal.newDamage.length, 1)
  t.match(r.journal.newDamage[0], /segment 1 offset 4096/)
  t.same(await readFile(join(box.dataDir, 'state.bin')), stateBefore, 'check changed nothing')
  t.same(await readFile(join(box.dataDir, SEG1)), journalBefore)
  t.notOk((await readdir(join(box.dataDir, 'vault'))).includes('quarantine'))

  const repair = await runOpgNode(['repair', '--config', box.configPath])
  t.equal(repair.code, 0, repair.stderr)
  t.match(repair.stdout, /quarantined: journal: \d+ damaged byte\(s\) at segment 1 offset 4096/)
  t.match(repair.stdout, /state\.bin rebuilt/)
  const data = await readdir(box.dataDir)
  t.ok(
    data.some((n) => n.startsWith('state.bin.damaged-')),
    'the damaged state file is kept aside',
  )
  const q = await readdir(join(box.dataDir, 'vault', 'quarantine'))
  t.ok(
    q.some((n) => n.endsWith('.bin')),
    'damaged bytes quarantined',
  )
  t.ok(q.includes('report.json'))

  const after = await runOpgNode(['check', '--config', box.configPath])
  t.equal(after.code, 0, 'after repair: healthy, the known damage listed')
  t.match(after.stdout, /quarantined journal: .*offset 4096/)

  const node = await startOpgNode(box.configPath, controlSocketPath(box.dataDir))
  t.teardown(() => stopOpgNode(node, 'SIGKILL'))
  const status = JSON.parse(
    (await runOpgNode(['status', '--config', box.configPath, '--json'])).stdout,
  ) as NodeReport
  t.equal(status.running, true)
  t.equal(status.payments, 4, 'three intact payments and the salvaged one')
  t.equal(status.damagedPayments, 1)
  t.equal(status.pendingCount, 3)
  t.ok(
    status.storage.alerts.some((a) => a.includes('offset 4096')),
    'the damage is in status',
  )
  const human = await runOpgNode(['status', '--config', box.configPath])
  t.match(human.stdout, /storage\s+1 ALERT/)
})

t.test('start rebuilds an empty state.bin and quarantines a flipped journal frame by itself', async (t) => {
  const { box } = await boxWithPayments(t)
  await writeFile(join(box.dataDir, 'state.bin'), '')
  await flip(join(box.dataDir, SEG1), 2 * 4096 + 100)
  const node = await startOpgNode(box.configPath, controlSocketPath(box.dataDir))
  t.teardown(() => stopOpgNode(node, 'SIGKILL'))
  const status = JSON.parse(
    (await runOpgNode(['status', '--config', box.configPath, '--json'])).stdout,
  ) as NodeReport
  t.equal(status.running, true, 'the box came up')
  t.equal(status.payments, 4)
  t.equal(status.storage.alerts.length, 2, status.storage.alerts.join('\n'))
  t.ok(status.storage.stateRebuilt, 'the state rebuild is reported')
  t.ok(status.storage.alerts.some((a) => a.startsWith('journal:')))
  t.ok(status.clock.ms >= Date.now() - 10 * 60_000, 'the clock floor came back from the vault')
  t.match(node.out(), 'STORAGE DAMAGE')
})
