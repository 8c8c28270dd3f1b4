/**
 * Replay protection for "paid online" notices. The bridge numbers its notices to a box with one counter per
 * device, shared by the SMS and MQTT channels; the box must refuse any counter it has already taken, across
 * reboots and after the vault has compacted old notices away.
 *
 * The box keeps a high-water mark plus a window: the highest counter taken (`high`) and the set of counters
 * taken in (high − size, high]. A counter above `high` is fresh (the window slides); one inside the window is
 * fresh unless it is in the set; one at or below high − size is refused as too old to tell. Counters may
 * arrive out of order (an SMS queued for days while a later notice came by MQTT), so a plain high-water mark
 * would drop real notices; the window bounds the state to `size` numbers instead of every counter ever seen.
 */

/** What is persisted between boots. */
export interface CounterWindowSnapshot {
  /** Highest counter taken; -1 when none. */
  high: number
  /** Counters taken inside the window, ascending. */
  seen: number[]
}

/** Why a counter is refused, or that it is fresh. */
export type CounterVerdict = 'fresh' | 'seen' | 'too_old'

/** Default window: a box would need this many notices to overtake a delayed one before it is lost. */
export const DEFAULT_WINDOW = 1024

/** The high-water mark + window of counters taken. Pure: persistence is the caller's (see `CounterStore`). */
export class CounterWindow {
  readonly size: number
  #high = -1
  readonly #seen = new Set<number>()

  constructor(size: number = DEFAULT_WINDOW) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError('window size must be a positive integer')
    this.size = size
  }

  /** Rebuild from a snapshot; counters outside the window are dropped. */
  static from(s: CounterWindowSnapshot | undefined, size: number = DEFAULT_WINDOW): CounterWindow {
    const w = new CounterWindow(size)
    if (s && Number.isInteger(s.high) && s.high >= 0) {
      w.#high = s.high
      for (const n of s.seen ?? []) if (Number.isInteger(n) && n >= 0 && n <= s.high) w.#seen.add(n)
      // The mark itself was taken, whatever the set says.
      w.#seen.add(s.high)
      w.#prune()
    }
    return w
  }

  get high(): number {
    return this.#high
  }

  check(counter: number): CounterVerdict {
    if (counter > this.#high) return 'fresh'
    if (counter <= this.#high - this.size) return 'too_old'
    return this.#seen.has(counter) ? 'seen' : 'fresh'
  }

  /** Mark a counter taken. Returns false (and changes nothing) when `check` would not say fresh. */
  add(counter: number): boolean {
    if (!Number.isInteger(counter) || counter < 0)
      throw new RangeError('counter must be a non-negative integer')
    if (this.check(counter) !== 'fresh') return false
    this.#seen.add(counter)
    if (counter > this.#high) {
      this.#high = counter
      this.#prune()
    }
    return true
  }

  snapshot(): CounterWindowSnapshot {
    return { high: this.#high, seen: [...this.#seen].sort((a, b) => a - b) }
  }

  #prune(): void {
    const floor = this.#high - this.size
    for (const n of this.#seen) if (n <= floor) this.#seen.delete(n)
  }
}

/** Where the window is kept between boots: the encrypted state store on a box, memory in tests. */
export interface CounterStore {
  load(): Promise<CounterWindowSnapshot | undefined>
  /** Resolves once the snapshot is durable. */
  save(s: CounterWindowSnapshot): Promise<void>
}

/** The lowdb-shaped state store the node already has (vault/state-store.ts): a section of it. */
export interface CounterStateDb {
  data: { [section: string]: unknown }
  write(): Promise<void>
}

/** A `CounterStore` in section `paidNotices` of the node's encrypted, fsynced state store. */
export function stateCounterStore(db: CounterStateDb, section = 'paidNotices'): CounterStore {
  return {
    async load() {
      const s = db.data[section] as CounterWindowSnapshot | undefined
      return s && { high: s.high, seen: [...(s.seen ?? [])] }
    },
    async save(s) {
      db.data[section] = { high: s.high, seen: [...s.seen] }
      await db.write()
    },
  }
}

/** A `CounterStore` in memory, shared across service instances to model a reboot in tests. */
export function memoryCounterStore(initial?: CounterWindowSnapshot): CounterStore & {
  readonly saved: CounterWindowSnapshot | undefined
} {
  let saved = initial && { high: initial.high, seen: [...initial.seen] }
  return {
    get saved() {
      return saved
    },
    async load() {
      return saved && { high: saved.high, seen: [...saved.seen] }
    },
    async save(s) {
      saved = { high: s.high, seen: [...s.seen] }
    },
  }
}
