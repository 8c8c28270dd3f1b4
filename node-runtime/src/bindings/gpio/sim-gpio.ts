/**
 * A simulated `Gpio` for tests and the demo: it records every write and lets a test press the button, with
 * contact bounce, through the same debouncer the real board uses.
 */
import type { OutputLine } from './gpio.js'
import { PatternGpio, type PatternGpioOptions } from './pattern-gpio.js'

/** One recorded output write. */
export interface GpioWrite {
  line: OutputLine
  on: boolean
  /** ms since the simulator was constructed. */
  atMs: number
}

/** The simulated GPIO binding. */
export class SimGpio extends PatternGpio {
  /** Hook: every output write, in order. */
  readonly history: GpioWrite[] = []
  private readonly t0 = performance.now()
  private readonly debounceMs: number

  constructor(opts: PatternGpioOptions = {}) {
    super(opts)
    this.debounceMs = opts.debounceMs ?? 30
  }

  /** Hook: the last value written to a line (undefined if never written). */
  lastWrite(line: OutputLine): boolean | undefined {
    for (let i = this.history.length - 1; i >= 0; i--)
      if (this.history[i]!.line === line) return this.history[i]!.on
    return undefined
  }

  /**
   * Hook: presses and releases the button. `bounces` extra edges at the start model contact bounce; resolves
   * once the release has settled.
   */
  async pressButton(opts: { bounces?: number; holdMs?: number } = {}): Promise<void> {
    const bounces = opts.bounces ?? 3
    for (let i = 0; i < bounces; i++) {
      this.buttonLevel(1)
      this.buttonLevel(0)
    }
    this.buttonLevel(1)
    await sleep(opts.holdMs ?? this.debounceMs * 3)
    this.buttonLevel(0)
    await sleep(this.debounceMs * 2)
  }

  /** Hook: drives the power-fail input (true = the supply is failing). */
  setPowerFail(failing: boolean): void {
    this.powerFailLevel(failing ? 1 : 0)
  }

  protected writeLine(line: OutputLine, on: boolean): void {
    this.history.push({ line, on, atMs: performance.now() - this.t0 })
  }

  protected async openHardware(): Promise<void> {}

  protected async closeHardware(): Promise<void> {}
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
