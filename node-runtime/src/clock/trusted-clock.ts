/**
 * Trusted time for a box with no real-time clock (Raspberry Pi 1–4). Time is the last time received from the
 * bridge plus the monotonic time elapsed since. Across reboots the clock never goes backwards: it restarts
 * from the persisted high-water mark (saved periodically and at stop) or from any later floor the caller
 * knows (the vault's latest `acceptedAt`, which is durable with every payment). A box that has never been
 * synced says so, so expiry checks can be strict.
 */

/** What is persisted between boots (unix ms). */
export interface ClockSnapshot {
  /** Last time received from the bridge. */
  lastTrustedMs?: number
  /** A time the clock is known to have reached. */
  highWaterMs?: number
}

/** Where the snapshot lives: the encrypted state store on a box, memory in tests. */
export interface ClockStore {
  load(): Promise<ClockSnapshot | undefined>
  save(s: ClockSnapshot): Promise<void>
}

/**
 * - `trusted`: the bridge set the time during this boot; now = that time + monotonic elapsed.
 * - `carried`: synced in an earlier boot only; now = high-water mark at boot + monotonic elapsed, a lower
 *   bound of the real time (the time the box was off is unknown).
 * - `unsynced`: never synced; now is the system clock, which nobody vouches for.
 */
export type ClockSource = 'trusted' | 'carried' | 'unsynced'

export interface ClockReading {
  ms: number
  source: ClockSource
}

export interface TrustedClockOptions {
  store: ClockStore
  /** Monotonic milliseconds; default performance.now. */
  monotonic?: () => number
  /** Only consulted while never synced; default Date.now. */
  systemTime?: () => number
  /** Later lower bounds known at start (e.g. () => vault.stats().lastAcceptedAt). */
  floor?: () => number | undefined
  /** How often to persist the high-water mark; default 60 s; 0 disables the timer. */
  persistEveryMs?: number
}

export class TrustedClock {
  readonly #store: ClockStore
  readonly #mono: () => number
  readonly #system: () => number
  readonly #floor: () => number | undefined
  readonly #every: number
  #base: number | undefined
  #monoAtBase = 0
  #source: ClockSource = 'unsynced'
  #lastTrustedMs: number | undefined
  #lastReturned = Number.NEGATIVE_INFINITY
  #timer: ReturnType<typeof setInterval> | undefined
  #saving: Promise<void> = Promise.resolve()

  constructor(opts: TrustedClockOptions) {
    this.#store = opts.store
    this.#mono = opts.monotonic ?? (() => performance.now())
    this.#system = opts.systemTime ?? Date.now
    this.#floor = opts.floor ?? (() => undefined)
    this.#every = opts.persistEveryMs ?? 60_000
  }

  /** Load the persisted snapshot and start the periodic high-water persistence. */
  async start(): Promise<void> {
    const snap = (await this.#store.load()) ?? {}
    this.#lastTrustedMs = snap.lastTrustedMs
    const floors = [snap.lastTrustedMs, snap.highWaterMs, this.#floor()].filter(
      (x): x is number => typeof x === 'number' && Number.isFinite(x),
    )
    if (snap.lastTrustedMs !== undefined && floors.length > 0) {
      this.#base = Math.max(...floors)
      this.#monoAtBase = this.#mono()
      this.#source = 'carried'
    } else if (floors.length > 0) {
      // Never synced, but payments were taken: the system clock must at least not go behind them.
      this.#lastReturned = Math.max(...floors)
    }
    if (this.#every > 0) {
      this.#timer = setInterval(() => {
        void this.checkpoint().catch(() => {})
      }, this.#every)
      this.#timer.unref()
    }
  }

  /** Stop the timer and persist the high-water mark one last time. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
    await this.checkpoint()
  }

  /** Current time, unix ms; never less than a value returned before (except after `setTrusted`). */
  now(): number {
    return this.read().ms
  }

  read(): ClockReading {
    const raw =
      this.#base === undefined ? this.#system() : this.#base + Math.max(0, this.#mono() - this.#monoAtBase)
    const ms = Math.floor(Math.max(raw, this.#lastReturned))
    this.#lastReturned = ms
    return { ms, source: this.#source }
  }

  /** True until the bridge has ever given this box the time. */
  get neverSynced(): boolean {
    return this.#lastTrustedMs === undefined
  }

  get source(): ClockSource {
    return this.#source
  }

  /** Last time received from the bridge, unix ms. */
  get lastTrustedMs(): number | undefined {
    return this.#lastTrustedMs
  }

  /**
   * The bridge's time. It is authoritative: if it is behind the local estimate the clock is corrected
   * backwards (the estimate can only run ahead through oscillator drift, by seconds). Persisted at once.
   */
  async setTrusted(ms: number): Promise<void> {
    if (!Number.isSafeInteger(ms) || ms <= 0) throw new RangeError('trusted time must be positive unix ms')
    this.#base = ms
    this.#monoAtBase = this.#mono()
    this.#lastReturned = ms
    this.#lastTrustedMs = ms
    this.#source = 'trusted'
    await this.checkpoint()
  }

  /** Persist the high-water mark now (done periodically and at stop). Saves are serialised. */
  checkpoint(): Promise<void> {
    const next = this.#saving.then(() => {
      if (this.#lastTrustedMs === undefined) return
      return this.#store.save({ lastTrustedMs: this.#lastTrustedMs, highWaterMs: this.now() })
    })
    this.#saving = next.catch(() => {})
    return next
  }
}

/** A ClockStore kept in memory, for tests. */
export class MemoryClockStore implements ClockStore {
  snapshot: ClockSnapshot | undefined
  saves = 0
  async load(): Promise<ClockSnapshot | undefined> {
    return this.snapshot && { ...this.snapshot }
  }
  async save(s: ClockSnapshot): Promise<void> {
    this.snapshot = { ...s }
    this.saves++
  }
}

/** Minimal view of a lowdb database holding a `clock` section (see vault/state-store.ts NodeState). */
export interface ClockStateDb {
  data: { clock?: ClockSnapshot }
  write(): Promise<void>
}

/** A ClockStore in the node's encrypted state store. */
export function stateClockStore(db: ClockStateDb): ClockStore {
  return {
    async load() {
      return db.data.clock && { ...db.data.clock }
    },
    async save(s) {
      db.data.clock = { ...s }
      await db.write()
    },
  }
}
