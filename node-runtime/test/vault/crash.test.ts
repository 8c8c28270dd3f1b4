/**
 * Power cuts at hundreds of seeded random points of a workload that appends (in concurrent groups), marks
 * payments synced and compacts across small segments. After each cut the file system is "rebooted" (unsynced
 * data dropped, kept or torn, names not yet fsynced in their directory lost) and the vault reopened:
 * every payment whose append() resolved must be there, whole; anything else may be present or absent, but
 * whole; nothing appears that was never appended; and the reopened vault keeps working.
 */
import { isDeepStrictEqual } from 'node:util'
import t from 'tap'
import {
  FileVault,
  type FileVaultOptions,
  isVaultError,
  type PaymentRecord,
  PowerCutError,
  SimFs,
  seededRandom,
} from '../../src/vault/index.js'
import { KEY, payment, plain, T0 } from './fixtures.js'

/** 300 seeded rounds by default; VAULT_CRASH_ROUNDS / VAULT_CRASH_FIRST_SEED run a longer soak. */
const ROUNDS = Number(process.env.VAULT_CRASH_ROUNDS ?? 300)
const FIRST_SEED = Number(process.env.VAULT_CRASH_FIRST_SEED ?? 1)
const DIR = '/data/vault'

function options(fs: SimFs): FileVaultOptions {
  return {
    dir: DIR,
    key: KEY,
    fs,
    segmentBytes: 1800,
    retention: { maxSynced: 3, protectMs: 0, maxAgeMs: 10 * 86_400_000 },
  }
}

interface Outcome {
  submitted: Map<string, PaymentRecord>
  resolved: Set<string>
  syncRequested: Set<string>
  syncResolved: Set<string>
}

/** The workload; stops at the first failure (the power cut). */
async function workload(v: FileVault, fs: SimFs, rng: () => number): Promise<Outcome> {
  const o: Outcome = {
    submitted: new Map(),
    resolved: new Set(),
    syncRequested: new Set(),
    syncResolved: new Set(),
  }
  let next = 1
  for (let step = 0; step < 24 && !fs.powerCut; step++) {
    const work: Promise<unknown>[] = []
    const group = 1 + Math.floor(rng() * 4)
    for (let i = 0; i < group; i++) {
      const p = payment(next++)
      o.submitted.set(p.txId, p)
      work.push(v.append(p).then(() => o.resolved.add(p.txId)))
    }
    if (step % 4 === 3) {
      const ids = [...o.resolved].filter(() => rng() < 0.7)
      for (const id of ids) o.syncRequested.add(id)
      work.push(
        v.markSynced(ids).then(() => {
          for (const id of ids) o.syncResolved.add(id)
        }),
      )
    }
    if (step % 6 === 5) work.push(v.compact(T0 + 86_400_000))
    await Promise.allSettled(work)
  }
  return o
}

async function verify(t: Tap.Test, fs: SimFs, o: Outcome, label: string): Promise<boolean> {
  let v: FileVault
  try {
    v = await FileVault.open(options(fs))
  } catch (err) {
    t.fail(`${label}: reopen failed: ${String(err)}`)
    return false
  }
  let ok = true
  const check = (cond: boolean, what: string) => {
    if (!cond) {
      ok = false
      t.fail(`${label}: ${what}`)
    }
  }
  for (const id of o.resolved) {
    // A payment marked synced may legitimately have been compacted away.
    if (!o.syncResolved.has(id)) check(v.has(id), `acknowledged payment ${id} lost`)
  }
  for (const s of v.payments()) {
    const sent = o.submitted.get(s.txId)
    check(sent !== undefined, `payment ${s.txId} was never appended`)
    const got = await v.get(s.txId)
    check(isDeepStrictEqual(plain(got), plain(sent)), `payment ${s.txId} is not whole`)
    if (s.synced) check(o.syncRequested.has(s.txId), `payment ${s.txId} synced without being acknowledged`)
    if (o.syncResolved.has(s.txId)) check(s.synced, `acknowledged sync of ${s.txId} lost`)
  }
  const count = v.stats().records
  const extra = payment(10_000)
  await v.append(extra)
  await v.close()
  const again = await FileVault.open(options(fs))
  check(
    again.has(extra.txId) && again.stats().records === count + 1,
    'repaired journal does not take new writes',
  )
  await again.close()
  return ok
}

declare namespace Tap {
  type Test = import('tap').Test
}

t.test('every acknowledged payment survives a power cut at any point', async (t) => {
  // Measure how many mutating calls the whole workload makes, to spread the cut points over it.
  const probe = new SimFs()
  const pv = await FileVault.open(options(probe))
  const start = probe.ops
  await workload(pv, probe, seededRandom(0))
  const span = probe.ops - start
  t.ok(span > 100, `workload makes ${span} file-system calls`)
  let passed = 0
  for (let seed = FIRST_SEED; seed < FIRST_SEED + ROUNDS; seed++) {
    const rng = seededRandom(seed)
    const fs = new SimFs()
    const v = await FileVault.open(options(fs))
    fs.cutAfter(Math.floor(rng() * span))
    const o = await workload(v, fs, rng)
    let rebooted = fs.crash(rng)
    if (rng() < 0.25) {
      // A second cut while the reopen repairs the journal.
      rebooted.cutAfter(Math.floor(rng() * 4))
      try {
        await (await FileVault.open(options(rebooted))).close()
      } catch (err) {
        if (!(err instanceof PowerCutError) && !isVaultError(err, 'io_failed')) throw err
      }
      rebooted = rebooted.crash(rng)
    }
    if (await verify(t, rebooted, o, `seed ${seed}`)) passed++
  }
  t.equal(passed, ROUNDS, 'all rounds consistent')
})

t.test('a resolved append survives the harshest cut: every unsynced byte dropped', async (t) => {
  const fs = new SimFs()
  const v = await FileVault.open(options(fs))
  await Promise.all([1, 2, 3].map((i) => v.append(payment(i))))
  fs.cutAfter(1) // the next write goes through, its fdatasync does not
  await t.rejects(v.append(payment(4)), { code: 'io_failed' })
  await t.rejects(v.append(payment(5)), { code: 'io_failed' }, 'a failed vault stays failed')
  const rebooted = fs.crash(() => 0) // 0 ⇒ drop every unsynced byte
  const w = await FileVault.open(options(rebooted))
  t.same(
    [...w.payments()].map((p) => p.counter),
    [1, 2, 3],
  )
  await w.close()
})
