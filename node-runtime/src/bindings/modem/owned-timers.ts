/**
 * Timers owned by one object and cleared together on its `stop()`. Pauses and waits taken through it end early
 * on `clear()` instead of hanging forever on a cancelled timer, so a stop never waits on its own cleanup.
 */

type Timer = ReturnType<typeof setTimeout>

/** A set of timers and pending waits with one `clear()`. */
export class OwnedTimers {
  private readonly timers = new Set<Timer>()
  private readonly wakers = new Set<() => void>()

  /** Runs `fn` after `ms` unless cleared first. */
  later(ms: number, fn: () => void): Timer {
    const t = setTimeout(() => {
      this.timers.delete(t)
      fn()
    }, ms)
    this.timers.add(t)
    return t
  }

  /** Resolves after `ms`, or at once on `clear()`. */
  sleep(ms: number): Promise<void> {
    return this.waiter(ms).promise
  }

  /** A wait that ends on `wake()`, after `ms`, or on `clear()`, whichever comes first. */
  waiter(ms: number): { promise: Promise<void>; wake: () => void } {
    let wake: () => void = () => {}
    const promise = new Promise<void>((resolve) => {
      const t = this.later(ms, () => wake())
      wake = () => {
        clearTimeout(t)
        this.timers.delete(t)
        this.wakers.delete(wake)
        resolve()
      }
      this.wakers.add(wake)
    })
    return { promise, wake }
  }

  /** Cancels every timer and ends every pending wait. */
  clear(): void {
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    for (const wake of [...this.wakers]) wake()
  }
}
