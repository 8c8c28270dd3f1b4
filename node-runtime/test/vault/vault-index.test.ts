/** The column store behind both vaults: growth, removal and repacking keep every answer right. */
import t from 'tap'
import { summarise } from '../../src/vault/codec.js'
import { VaultIndex } from '../../src/vault/vault-index.js'
import { payment } from './fixtures.js'

t.test('answers stay right through growth, removal and repacking', async (t) => {
  const ix = new VaultIndex()
  const n = 5000
  for (let i = 1; i <= n; i++) ix.putPayment(summarise(payment(i)), 1, i * 10, 10)
  for (let i = 1; i <= n; i += 2) ix.markSynced(payment(i).txId)
  // Remove four in five: more than half the slots die, so the columns are repacked on the way.
  for (let i = 1; i <= n; i++) if (i % 5 !== 0) ix.removePayment(payment(i).txId)
  const left = [...Array(n / 5).keys()].map((k) => (k + 1) * 5)
  t.equal(ix.stats().records, left.length)
  t.same(
    [...ix.summaries()].map((s) => s.counter),
    left,
    'order kept',
  )
  for (const i of [5, 2500, 5000]) {
    t.ok(ix.has(payment(i).txId))
    t.ok(ix.hasCounter(payment(i).walletId, i))
    t.match(ix.entry(payment(i).txId), { seg: 1, off: i * 10, len: 10, synced: i % 2 === 1 })
  }
  t.notOk(ix.has(payment(4).txId))
  t.notOk(ix.hasCounter(payment(4).walletId, 4))
  const unsynced = left.filter((i) => i % 2 === 0)
  t.equal(ix.stats().unsyncedCount, unsynced.length)
  t.same(ix.stats().unsyncedAmountByCurrency, { EUR: unsynced.reduce((s, i) => s + 100 + i, 0) })
  t.same(
    ix.unsyncedEntries(3).map((e) => e.counter),
    unsynced.slice(0, 3),
  )
  const w = payment(5).walletId
  const mine = left.filter((i) => payment(i).walletId === w)
  t.equal(
    ix.spentSince(w, 0),
    mine.reduce((s, i) => s + 100 + i, 0),
  )
  ix.putPayment(summarise(payment(4)))
  t.ok(ix.has(payment(4).txId), 'a removed id can come back')
})
