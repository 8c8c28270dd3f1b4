/**
 * The box's signal lights, buzzer and button: three LEDs (online / ok / error), a buzzer, and one push button.
 * Outputs are switched or played as on/off patterns; the button reports debounced presses. `PatternGpio` holds
 * everything both the onoff and the simulated implementation share, so they differ only in how a line is
 * written and where raw button levels come from.
 */

/** The output lines. */
export type OutputLine = 'ledOnline' | 'ledOk' | 'ledError' | 'buzzer'

/** Every output line, in a fixed order. */
export const OUTPUT_LINES: readonly OutputLine[] = ['ledOnline', 'ledOk', 'ledError', 'buzzer']

/** One debounced button press. */
export interface ButtonPress {
  at: Date
}

/** The GPIO binding: real (`OnoffGpio`) or simulated (`SimGpio`). */
export interface Gpio {
  start(): Promise<void>
  /** Switches every output off, stops patterns and releases the pins. */
  stop(): Promise<void>
  /** Switches an output, cancelling any pattern playing on it. */
  set(line: OutputLine, on: boolean): void
  /** Plays on/off durations in ms (on first) on a line, ending off; replaces any pattern on that line. */
  play(line: OutputLine, pattern: readonly number[]): void
  /** Subscribes to debounced button presses; returns the unsubscribe function. */
  onButton(listener: (press: ButtonPress) => void): () => void
  /**
   * Subscribes to the power-fail input (a supercapacitor or UPS HAT's "mains lost" line): called once each
   * time the line becomes active, with no debounce — the hold-up time is short. Returns the unsubscribe.
   */
  onPowerFail(listener: (at: Date) => void): () => void
}

/** Stable codes of `GpioError`. */
export type GpioErrorCode = 'NOT_STARTED' | 'NOT_ACCESSIBLE' | 'NO_CHIP' | 'PIN_FAILED' | 'BUTTON_UNAVAILABLE'

/** Errors of the GPIO binding, with a stable `code`. */
export class GpioError extends Error {
  override readonly name = 'GpioError'
  constructor(
    readonly code: GpioErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** How long the result LED stays lit after a payment, ms. */
export const RESULT_LED_MS = 1500

/** Payment accepted: green LED, one short beep. */
export function signalAccepted(gpio: Gpio): void {
  gpio.set('ledError', false)
  gpio.play('ledOk', [RESULT_LED_MS])
  gpio.play('buzzer', [80])
}

/** Payment rejected: red LED, three short beeps — distinguishable without looking. */
export function signalRejected(gpio: Gpio): void {
  gpio.set('ledOk', false)
  gpio.play('ledError', [RESULT_LED_MS])
  gpio.play('buzzer', [80, 80, 80, 80, 80])
}

/** Online LED follows the link to the bridge. */
export function signalOnline(gpio: Gpio, online: boolean): void {
  gpio.set('ledOnline', online)
}

/**
 * Debounces raw button levels: a press counts once the level has stayed "pressed" for `ms`, and the next press
 * needs a release first. Contact bounce (a burst of edges within a few ms) yields one press.
 */
export class ButtonDebouncer {
  private timer: ReturnType<typeof setTimeout> | null = null
  private latched = false

  constructor(
    private readonly ms: number,
    private readonly onPress: () => void,
  ) {}

  /** Feeds one raw level (1 = pressed). */
  feed(level: 0 | 1): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.timer = null
      if (level === 1 && !this.latched) {
        this.latched = true
        this.onPress()
      } else if (level === 0) this.latched = false
    }, this.ms)
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.latched = false
  }
}
