// The ranges the payment lookup scans cover exactly each token's counter and its two neighbours, per wallet:
// no counter is missed (a chain break or double spend would go unseen) and none outside them is read.
import fc from 'fast-check'
import t from 'tap'
import { neighbourRanges } from '../../src/reconcile/store.js'

const windows = (tokens: { walletId: string; counter: number }[]) =>
  new Set(tokens.flatMap((x) => [x.counter - 1, x.counter, x.counter + 1].map((c) => `${x.walletId}:${c}`)))

t.test('a run of consecutive payments is one range; a far counter is its own', async (t) => {
  const w = (walletId: string, ...counters: number[]) => counters.map((counter) => ({ walletId, counter }))
  t.same(neighbourRanges([...w('b', 7, 5, 6), ...w('a', 1, 2, 3, 50)]), [
    { walletId: 'a', from: 0, to: 4 },
    { walletId: 'a', from: 49, to: 51 },
    { walletId: 'b', from: 4, to: 8 },
  ])
  t.same(neighbourRanges(w('a', 1, 4)), [{ walletId: 'a', from: 0, to: 5 }], 'touching windows merge')
  t.same(
    neighbourRanges(w('a', 1, 5)),
    [
      { walletId: 'a', from: 0, to: 2 },
      { walletId: 'a', from: 4, to: 6 },
    ],
    'a gap of one counter stays a gap',
  )
  t.same(neighbourRanges(w('a', 3, 3)), [{ walletId: 'a', from: 2, to: 4 }], 'a repeated counter once')
  t.same(neighbourRanges([]), [])
})

t.test('on random batches, the ranges are exactly the union of the windows, and disjoint', async (t) => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({ walletId: fc.constantFrom('w1', 'w2', 'w3'), counter: fc.integer({ min: 1, max: 40 }) }),
        { maxLength: 60 },
      ),
      (tokens) => {
        const ranges = neighbourRanges(tokens)
        const covered = new Set<string>()
        for (const r of ranges) for (let c = r.from; c <= r.to; c++) covered.add(`${r.walletId}:${c}`)
        const want = windows(tokens)
        if (covered.size !== want.size || [...want].some((k) => !covered.has(k))) return false
        // Disjoint and not touching within a wallet (else two ranges would have been one).
        for (let i = 1; i < ranges.length; i++) {
          const [a, b] = [ranges[i - 1]!, ranges[i]!]
          if (a.walletId === b.walletId && b.from <= a.to + 1) return false
        }
        return true
      },
    ),
    { numRuns: 2000 },
  )
  t.pass('2,000 random batches')
})
