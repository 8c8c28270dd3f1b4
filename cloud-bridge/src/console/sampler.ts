/**
 * Samples the fleet's unsynced exposure (what every box reports holding) into `exposure_samples`, so the
 * console can chart it over time. Each replica samples on its own timer; samples are keyed by instant, so a
 * second replica only adds points, never double counts a point.
 */
import type { Queryable } from '../api/ports.js'
import { sampleExposure } from './box-queries.js'

export class ExposureSampler {
  readonly #q: Queryable
  readonly #everyMs: number
  readonly #now: () => Date
  readonly #onError: (err: unknown) => void
  #timer: NodeJS.Timeout | undefined
  #running: Promise<unknown> = Promise.resolve()

  constructor(o: { db: Queryable; everyMs: number; now: () => Date; onError: (err: unknown) => void }) {
    this.#q = o.db
    this.#everyMs = o.everyMs
    this.#now = o.now
    this.#onError = o.onError
  }

  /** Take one sample now; resolves with the number of (tenant, currency) series written. */
  sample(): Promise<number> {
    const p = sampleExposure(this.#q, this.#now())
    this.#running = p.catch(() => {})
    return p
  }

  start(): void {
    if (this.#everyMs <= 0 || this.#timer) return
    this.#timer = setInterval(() => this.sample().catch(this.#onError), this.#everyMs)
    this.#timer.unref()
    this.sample().catch(this.#onError)
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer)
    this.#timer = undefined
    await this.#running
  }
}
