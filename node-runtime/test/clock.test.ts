/** The trusted clock: last bridge time + monotonic time, never backwards across reboots. */
import t from 'tap'
import { MemoryClockStore, stateClockStore, TrustedClock } from '../src/clock/index.js'
import { openStateStore, SimFs } from '../src/vault/index.js'

const T = Date.UTC(2026, 10, 27, 12, 0, 0)

/** A hand-driven monotonic source: it restarts from 0 at each "boot". */
function fakeMono(): { now: () => number; advance: (ms: number) => void } {
  let ms = 0
  return { now: () => ms, advance: (d) => (ms += d) }
}

t.test('a box that was never synced says so and falls back to the system clock', async (t) => {
  const store = new MemoryClockStore()
  const clock = new TrustedClock({ store, systemTime: () => 1234, persistEveryMs: 0 })
  await clock.start()
  t.ok(clock.neverSynced)
  t.same(clock.read(), { ms: 1234, source: 'unsynced' })
  await clock.stop()
  t.equal(store.saves, 0, 'an unvouched time is never persisted as a floor')
})

t.test('trusted time runs on the monotonic clock, not the system clock', async (t) => {
  const mono = fakeMono()
  const clock = new TrustedClock({
    store: new MemoryClockStore(),
    monotonic: mono.now,
    systemTime: () => 0,
    persistEveryMs: 0,
  })
  await clock.start()
  await clock.setTrusted(T)
  t.notOk(clock.neverSynced)
  mono.advance(5_000)
  t.same(clock.read(), { ms: T + 5_000, source: 'trusted' })
  await clock.stop()
})

t.test('after a reboot the clock resumes from the high-water mark, never behind it', async (t) => {
  const store = new MemoryClockStore()
  const boot1 = fakeMono()
  const c1 = new TrustedClock({ store, monotonic: boot1.now, persistEveryMs: 0 })
  await c1.start()
  await c1.setTrusted(T)
  boot1.advance(3_600_000)
  await c1.stop() // persists the high-water mark T + 1 h
  const boot2 = fakeMono()
  const c2 = new TrustedClock({ store, monotonic: boot2.now, systemTime: () => 0, persistEveryMs: 0 })
  await c2.start()
  t.same(c2.read(), { ms: T + 3_600_000, source: 'carried' })
  boot2.advance(10)
  t.equal(c2.now(), T + 3_600_010)
  t.notOk(c2.neverSynced)
  await c2.stop()
})

t.test(
  'a later floor (the last accepted payment) lifts the clock after a cut without checkpoint',
  async (t) => {
    const store = new MemoryClockStore()
    store.snapshot = { lastTrustedMs: T, highWaterMs: T + 1000 }
    const clock = new TrustedClock({
      store,
      monotonic: fakeMono().now,
      floor: () => T + 90_000,
      persistEveryMs: 0,
    })
    await clock.start()
    t.equal(clock.now(), T + 90_000)
    await clock.stop()
  },
)

t.test('the bridge may correct the clock; otherwise it never goes backwards', async (t) => {
  let mono = 100
  const clock = new TrustedClock({ store: new MemoryClockStore(), monotonic: () => mono, persistEveryMs: 0 })
  await clock.start()
  await clock.setTrusted(T)
  mono = 50 // a misbehaving monotonic source
  t.equal(clock.now(), T)
  await clock.setTrusted(T - 2_000)
  t.equal(clock.now(), T - 2_000)
  await t.rejects(clock.setTrusted(-1), RangeError)
  await clock.stop()
})

t.test('the high-water mark is persisted periodically and the timer stops', async (t) => {
  const store = new MemoryClockStore()
  const clock = new TrustedClock({ store, persistEveryMs: 5 })
  await clock.start()
  await clock.setTrusted(T)
  const saves = store.saves
  for (let i = 0; i < 100 && store.saves === saves; i++) await new Promise((r) => setTimeout(r, 10))
  t.ok(store.saves > saves, 'saved by the timer')
  await clock.stop()
  const after = store.saves
  await new Promise((r) => setTimeout(r, 20))
  t.equal(store.saves, after, 'no saves after stop')
})

t.test('keeps its snapshot in the encrypted state store', async (t) => {
  const fs = new SimFs()
  const key = new Uint8Array(16).fill(3)
  const defaults = { version: 1 as const }
  const db = await openStateStore<{ version: 1; clock?: { lastTrustedMs?: number; highWaterMs?: number } }>({
    dir: '/state',
    key,
    defaults,
    fs,
  })
  const clock = new TrustedClock({ store: stateClockStore(db), monotonic: () => 0, persistEveryMs: 0 })
  await clock.start()
  await clock.setTrusted(T)
  await clock.stop()
  const back = await openStateStore<typeof db.data>({ dir: '/state', key, defaults, fs: fs.crash(() => 0) })
  t.same(back.data.clock, { lastTrustedMs: T, highWaterMs: T })
})
