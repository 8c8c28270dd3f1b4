/**
 * The Vault contract: one suite, run against every implementation (file journal on real files, file journal
 * on the simulated file system, in-memory vault).
 */
import type { Test } from 'tap'
import { isVaultError, type Vault } from '../../src/vault/index.js'
import { notice, payment, plain, T0 } from './fixtures.js'

export interface VaultTarget {
  /** A fresh, empty vault. */
  open(): Promise<Vault>
  /** Reopen what the last `open`/`reopen` wrote (absent for implementations that keep nothing). */
  reopen?: () => Promise<Vault>
}

export function vaultContract(t: Test, target: VaultTarget): Promise<void> {
  t.test('stores a payment and answers for it', async (t) => {
    const v = await target.open()
    const p = payment(1)
    await v.append(p)
    t.ok(v.has(p.txId))
    t.notOk(v.has(payment(2).txId))
    t.ok(v.hasCounter(p.walletId, 1))
    t.notOk(v.hasCounter(p.walletId, 2))
    t.same(plain(await v.get(p.txId)), plain(p))
    t.equal(await v.get(payment(3).txId), undefined)
    t.match(v.summary(p.txId), { txId: p.txId, amount: 101, synced: false, purseId: 'purse-1' })
    t.match(v.stats(), { records: 1, unsyncedCount: 1, unsyncedAmountByCurrency: { EUR: 101 } })
    await v.close()
  })

  t.test('refuses duplicates by tx id, wallet counter and notice ref', async (t) => {
    const v = await target.open()
    await v.append(payment(1))
    await t.rejects(v.append(payment(1)), { code: 'duplicate_tx' })
    await t.rejects(v.append(payment(1, { txId: 'other-tx' })), { code: 'duplicate_counter' })
    await v.append(notice(1))
    await t.rejects(v.append(notice(1)), { code: 'duplicate_notice' })
    t.equal(v.stats().records, 1)
    await v.close()
  })

  t.test('a concurrent duplicate is refused before the first is on flash', async (t) => {
    const v = await target.open()
    const results = await Promise.allSettled([v.append(payment(5)), v.append(payment(5))])
    t.equal(results.filter((r) => r.status === 'fulfilled').length, 1)
    const bad = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
    t.ok(isVaultError(bad.reason, 'duplicate_tx'))
    t.equal(v.stats().records, 1)
    await v.close()
  })

  t.test('refuses malformed records', async (t) => {
    const v = await target.open()
    await t.rejects(v.append(payment(1, { amount: 0 })), { code: 'invalid_record' })
    await t.rejects(v.append(payment(1, { currency: 'eur' })), { code: 'invalid_record' })
    await t.rejects(v.append(payment(1, { channel: 'nfc' as 'qr' })), { code: 'invalid_record' })
    await t.rejects(v.append(payment(1, { counter: -1 })), { code: 'invalid_record' })
    await t.rejects(v.append({ kind: 'synced', txIds: [] } as never), { code: 'invalid_record' })
    t.equal(v.stats().records, 0)
    await v.close()
  })

  t.test('sums what a wallet spent from a counter base', async (t) => {
    const v = await target.open()
    const w = 'feedfeedfeedfeed'
    await Promise.all([
      v.append(payment(10, { walletId: w, counter: 3, amount: 300 })),
      v.append(payment(11, { walletId: w, counter: 7, amount: 700 })),
      v.append(payment(12, { walletId: w, counter: 9, amount: 900, currency: 'USD' })),
    ])
    t.equal(v.spentSince(w, 0), 1900)
    t.equal(v.spentSince(w, 7), 1600)
    t.equal(v.spentSince(w, 7, 'EUR'), 700)
    t.equal(v.spentSince(w, 10), 0)
    t.equal(v.spentSince('0000000000000000', 0), 0)
    await v.close()
  })

  t.test('sums what a wallet spent in a time window, whatever its synced state', async (t) => {
    const v = await target.open()
    const w = 'feedfeedfeedfeed'
    await Promise.all([
      v.append(payment(20, { walletId: w, counter: 1, amount: 100, acceptedAt: T0 + 1_000 })),
      v.append(payment(21, { walletId: w, counter: 2, amount: 200, acceptedAt: T0 + 1_999 })),
      v.append(payment(22, { walletId: w, counter: 3, amount: 400, acceptedAt: T0 + 2_000 })),
      v.append(
        payment(23, { walletId: 'beefbeefbeefbeef', counter: 1, amount: 800, acceptedAt: T0 + 1_500 }),
      ),
    ])
    await v.markSynced([payment(20).txId])
    t.equal(v.spentBetween(w, T0 + 1_000, T0 + 2_000), 300, 'from inclusive, to exclusive')
    t.equal(v.spentBetween(w, T0, T0 + 3_000), 700)
    t.equal(v.spentBetween(w, T0 + 2_001, T0 + 3_000), 0)
    t.equal(v.spentBetween('0000000000000000', T0, T0 + 3_000), 0)
    await v.close()
  })

  t.test('tracks unsynced payments until the bridge acknowledges them', async (t) => {
    const v = await target.open()
    for (let i = 1; i <= 5; i++) await v.append(payment(i))
    t.same(
      (await v.unsynced()).map((p) => p.txId),
      [1, 2, 3, 4, 5].map((i) => payment(i).txId),
    )
    t.equal((await v.unsynced(2)).length, 2)
    t.equal(await v.markSynced([payment(2).txId, payment(4).txId, 'unknown']), 2)
    t.equal(await v.markSynced([payment(2).txId]), 0, 'already synced')
    t.same(
      (await v.unsynced()).map((p) => p.counter),
      [1, 3, 5],
    )
    t.same(v.stats().unsyncedAmountByCurrency, { EUR: 101 + 103 + 105 })
    t.equal(v.summary(payment(2).txId)?.synced, true)
    t.ok(v.has(payment(2).txId), 'synced payments stay in history')
    t.same(
      [...v.payments()].map((s) => [s.counter, s.synced]),
      [
        [1, false],
        [2, true],
        [3, false],
        [4, true],
        [5, false],
      ],
    )
    await v.close()
  })

  t.test('keeps invoice-paid notices', async (t) => {
    const v = await target.open()
    await v.append(notice(1))
    await v.append(notice(2))
    t.ok(v.hasNotice('INV-1'))
    t.notOk(v.hasNotice('INV-3'))
    t.same(v.notices(), [notice(1), notice(2)])
    t.equal(v.stats().notices, 2)
    await v.close()
  })

  t.test('compaction never drops unsynced or protected payments', async (t) => {
    const v = await target.open()
    for (let i = 1; i <= 30; i++) await v.append(payment(i))
    await v.markSynced([...Array(20).keys()].map((i) => payment(i + 1).txId))
    const now = T0 + 40_000
    await v.compact(now) // everything is younger than the default 7-day protection
    t.equal(v.stats().records, 30)
    const r = await v.compact(now + 365 * 86_400_000)
    t.ok(r.dropped <= 20)
    for (let i = 21; i <= 30; i++) t.ok(v.has(payment(i).txId), `unsynced ${i} kept`)
    t.same(
      (await v.unsynced()).map((p) => p.counter),
      [21, 22, 23, 24, 25, 26, 27, 28, 29, 30],
    )
    t.same(plain(await v.get(payment(25).txId)), plain(payment(25)))
    await v.close()
  })

  t.test('a closed vault refuses writes', async (t) => {
    const v = await target.open()
    await v.close()
    await t.rejects(v.append(payment(1)), { code: 'closed' })
  })

  if (target.reopen) {
    const reopen = target.reopen
    t.test('everything survives a reopen', async (t) => {
      const v = await target.open()
      for (let i = 1; i <= 12; i++) await v.append(payment(i))
      await v.append(notice(1))
      await v.markSynced([payment(3).txId, payment(4).txId])
      const before = [...v.payments()]
      await v.close()
      const w = await reopen()
      t.same([...w.payments()], before)
      t.same(w.notices(), [notice(1)])
      t.same(plain(await w.get(payment(7).txId)), plain(payment(7)))
      t.match(w.stats(), { records: 12, unsyncedCount: 10 })
      await t.rejects(w.append(payment(7)), { code: 'duplicate_tx' })
      await w.append(payment(13))
      await w.close()
      const x = await reopen()
      t.ok(x.has(payment(13).txId))
      await x.close()
    })
  }
  return Promise.resolve()
}
