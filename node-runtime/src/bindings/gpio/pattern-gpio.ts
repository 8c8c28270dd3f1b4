/**
 * The shared half of every `Gpio`: output patterns on timers, the button debouncer and its listeners. Timers
 * are owned here and all cleared by `stop()`, so a pending "LED off" never fires after shutdown.
 */
import {
  ButtonDebouncer,
  type ButtonPress,
  type Gpio,
  GpioError,
  OUTPUT_LINES,
  type OutputLine,
} from './gpio.js'

/** Options shared by every implementation. */
export interface PatternGpioOptions {
  /** A press counts after the level has been stable this long (default 30 ms). */
  debounceMs?: number
  now?: () => Date
  /** Receives errors with no caller to go to (a failing write from a timer, a throwing listener). */
  onError?: (err: unknown) => void
}

/** Base class: subclasses write lines and feed raw button levels through `buttonLevel()`. */
export abstract class PatternGpio implements Gpio {
  protected running = false
  private readonly patterns = new Map<OutputLine, ReturnType<typeof setTimeout>>()
  private readonly buttonListeners = new Set<(press: ButtonPress) => void>()
  private readonly powerFailListeners = new Set<(at: Date) => void>()
  private powerFailing = false
  private readonly debouncer: ButtonDebouncer

  private readonly now: () => Date
  protected readonly onError: (err: unknown) => void

  constructor(opts: PatternGpioOptions = {}) {
    this.now = opts.now ?? (() => new Date())
    this.onError = opts.onError ?? (() => {})
    this.debouncer = new ButtonDebouncer(opts.debounceMs ?? 30, () => this.emitPress())
  }

  /** Writes one output line (true = on). */
  protected abstract writeLine(line: OutputLine, on: boolean): void
  protected abstract openHardware(): Promise<void>
  protected abstract closeHardware(): Promise<void>

  async start(): Promise<void> {
    if (this.running) return
    await this.openHardware()
    this.running = true
  }

  async stop(): Promise<void> {
    if (!this.running) return
    this.running = false
    for (const t of this.patterns.values()) clearTimeout(t)
    this.patterns.clear()
    this.debouncer.stop()
    for (const line of OUTPUT_LINES) this.writeLine(line, false)
    await this.closeHardware()
  }

  set(line: OutputLine, on: boolean): void {
    this.assertRunning()
    this.cancel(line)
    this.writeLine(line, on)
  }

  play(line: OutputLine, pattern: readonly number[]): void {
    this.assertRunning()
    this.cancel(line)
    const step = (i: number) => {
      if (i >= pattern.length) {
        this.patterns.delete(line)
        this.writeLine(line, false)
        return
      }
      this.writeLine(line, i % 2 === 0)
      this.patterns.set(
        line,
        setTimeout(() => step(i + 1), Math.max(0, pattern[i]!)),
      )
    }
    step(0)
  }

  onButton(listener: (press: ButtonPress) => void): () => void {
    this.buttonListeners.add(listener)
    return () => this.buttonListeners.delete(listener)
  }

  onPowerFail(listener: (at: Date) => void): () => void {
    this.powerFailListeners.add(listener)
    return () => this.powerFailListeners.delete(listener)
  }

  /** Raw level from the power-fail line (1 = power failing): listeners hear each rising edge once. */
  protected powerFailLevel(level: 0 | 1): void {
    if (!this.running || (level === 1) === this.powerFailing) return
    this.powerFailing = level === 1
    if (level === 0) return
    const at = this.now()
    for (const l of [...this.powerFailListeners]) {
      try {
        l(at)
      } catch (err) {
        this.onError(err)
      }
    }
  }

  /** Raw level from the button line (1 = pressed), before debouncing. */
  protected buttonLevel(level: 0 | 1): void {
    if (this.running) this.debouncer.feed(level)
  }

  private emitPress(): void {
    const press = { at: this.now() }
    for (const l of [...this.buttonListeners]) {
      try {
        l(press)
      } catch (err) {
        // A listener's failure must not stop the other listeners from hearing the press.
        this.onError(err)
      }
    }
  }

  private cancel(line: OutputLine): void {
    const t = this.patterns.get(line)
    if (t) clearTimeout(t)
    this.patterns.delete(line)
  }

  private assertRunning(): void {
    if (!this.running) throw new GpioError('NOT_STARTED', 'GPIO is not started')
  }
}
