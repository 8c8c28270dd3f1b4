// The notice counter window: fresh, seen and too-old counters, out-of-order arrival, and snapshots.
import t from 'tap'
import { CounterWindow } from '../../src/confirm/counter-window.js'

t.test('a counter is taken once, in any order', async (t) => {
  const w = new CounterWindow(8)
  for (const n of [3, 1, 2]) t.ok(w.add(n), `takes ${n}`)
  for (const n of [1, 2, 3]) t.equal(w.check(n), 'seen', `${n} is seen`)
  t.notOk(w.add(2), 'refuses 2 again')
  t.equal(w.check(4), 'fresh')
  t.equal(w.high, 3)
})

t.test('counters at or below high − size are too old to tell', async (t) => {
  const w = new CounterWindow(4)
  w.add(10)
  t.equal(w.check(6), 'too_old')
  t.equal(w.check(7), 'fresh', 'inside the window and never taken')
  t.notOk(w.add(6))
  t.ok(w.add(7))
})

t.test('a snapshot restores the same verdicts and stays bounded', async (t) => {
  const w = new CounterWindow(16)
  for (let n = 0; n < 100; n += 3) w.add(n)
  const s = w.snapshot()
  t.ok(s.seen.length <= 16, 'only the window is kept')
  const r = CounterWindow.from(s, 16)
  for (let n = 0; n < 110; n++) t.equal(r.check(n), w.check(n), `counter ${n}`)
  t.equal(CounterWindow.from(undefined).high, -1, 'empty')
  t.equal(CounterWindow.from({ high: 5, seen: [] }).check(5), 'seen', 'the mark itself counts as taken')
})
