/**
 * A long run of the file vault as the running node uses it: payments in groups, acks (some refusals), and
 * compaction after each round. The journal and the in-memory index stay bounded by the retention policy,
 * and no unsynced payment or refusal is ever lost, across restarts.
 */
import t from 'tap'
import { FileVault, SimFs, seededRandom } from '../../src/vault/index.js'
import { KEY, payment, T0 } from './fixtures.js'

const DIR = '/data/vault'

t.test('many payments, compaction every round: bounded, nothing unsynced lost', async (t) => {
  const fs = new SimFs()
  const rng = seededRandom(7)
  const retention = { maxSynced: 300, protectMs: 0, maxAgeMs: 365 * 86_400_000 }
  // 16 commits of 4 KiB per segment, so compaction has many segments to work on.
  const opts = { dir: DIR, key: KEY, fs, segmentBytes: 16 * 4096, retention }
  let v = await FileVault.open(opts)
  const unsynced = new Set<string>()
  const refused = new Map<string, string>()
  const ROUNDS = 40
  const PER_ROUND = 150
  let maxRecords = 0
  let maxBytes = 0
  let n = 0
  for (let round = 0; round < ROUNDS; round++) {
    for (let g = 0; g < PER_ROUND; g += 10) {
      const group = [...Array(10).keys()].map(() => payment(++n, { acceptedAt: T0 + n }))
      await Promise.all(group.map((p) => v.append(p)))
      for (const p of group) unsynced.add(p.txId)
    }
    // The bridge acks most of what is pending; a few stay unacked for a while, one is refused.
    const pending = [...unsynced]
    const ack = pending.filter(() => rng() < 0.9)
    const refuse = ack.splice(0, 1)
    await v.markSynced(ack)
    await v.markRefused(refuse.map((txId) => ({ txId, code: 'replay' })))
    for (const id of ack) unsynced.delete(id)
    for (const id of refuse) {
      unsynced.delete(id)
      refused.set(id, 'replay')
    }
    await v.compact(T0 + 86_400_000)
    const s = v.stats()
    maxRecords = Math.max(maxRecords, s.records)
    maxBytes = Math.max(maxBytes, s.bytes)
    if (s.unsyncedCount !== unsynced.size) t.fail(`round ${round}: unsynced count ${s.unsyncedCount}`)
    if (round % 10 === 9) {
      // A restart now and then: what was kept is exactly what the index says.
      await v.close()
      v = await FileVault.open(opts)
    }
  }
  const total = ROUNDS * PER_ROUND
  const s = v.stats()
  // Retained synced history + unsynced + refusals, plus at most the segments compaction cannot yet drop
  // (the active one, and a few held by a payment still unsynced).
  const bound = retention.maxSynced + unsynced.size + refused.size + 4 * 16 + PER_ROUND
  t.ok(maxRecords <= bound, `index held at most ${maxRecords} of ${total} payments (bound ${bound})`)
  t.ok(maxBytes < (bound + 8) * 4096, `journal stayed at most ${maxBytes} bytes`)
  t.equal(s.unsyncedCount, unsynced.size)
  const stillUnsynced = new Set((await v.unsynced()).map((p) => p.txId))
  t.same([...stillUnsynced].sort(), [...unsynced].sort(), 'every unsynced payment is kept, whole')
  for (const [id, code] of refused) if (v.summary(id)?.refused !== code) t.fail(`refusal ${id} lost`)
  t.equal(s.refusedCount, refused.size, `${refused.size} refusals kept`)
  await v.close()
  const again = await FileVault.open(opts)
  t.equal(again.stats().refusedCount, refused.size, 'refusals survive the restart')
  t.equal(again.stats().unsyncedCount, unsynced.size)
  await again.close()
})
