/**
 * `Gpio` on the Linux sysfs GPIO interface through onoff (what Raspberry Pi OS images before the character-device
 * era, and many still, expose). onoff is loaded only in `start()`, so machines without GPIO never load its
 * native epoll addon. Outputs start low; the button is an input watched on both edges and debounced here.
 * Pins are configured by BCM number and exported as base + BCM of the chip that carries the header
 * (sysfs-chip.ts): 0 or 512 on a Pi 1–4, 571 on a Pi 5.
 */
import { GpioError, OUTPUT_LINES, type OutputLine } from './gpio.js'
import { PatternGpio, type PatternGpioOptions } from './pattern-gpio.js'
import { headerChip, readSysfsChips, type SysfsChip, sysfsNumber } from './sysfs-chip.js'

/** BCM pin numbers from the device config. */
export interface GpioPins {
  ledOnline: number
  ledOk: number
  ledError: number
  buzzer: number
  /** Omit on boxes without a button. */
  button?: number
  /** Button wired to ground with a pull-up: a low level means pressed (default true). */
  buttonActiveLow?: boolean
  /** Power-fail input of a supercapacitor/UPS HAT; omit when there is none. */
  powerFail?: number
  /** A low level means power is failing (default true, as most HATs pull the line down). */
  powerFailActiveLow?: boolean
}

/** Options of `OnoffGpio`. */
export interface OnoffGpioOptions extends PatternGpioOptions {
  pins: GpioPins
  /** Label of the gpio chip carrying the header, when it is none of `HEADER_CHIP_LABELS`. */
  chipLabel?: string
}

type OnoffModule = typeof import('onoff')
type OnoffPin = InstanceType<OnoffModule['Gpio']>

/** The real GPIO binding. */
export class OnoffGpio extends PatternGpio {
  private readonly pins: GpioPins
  private readonly chipLabel: string | undefined
  private headerChip: SysfsChip | null = null
  private outputs = new Map<OutputLine, OnoffPin>()
  private button: OnoffPin | null = null
  private powerFail: OnoffPin | null = null
  private watching = false

  constructor(opts: OnoffGpioOptions) {
    super(opts)
    this.pins = opts.pins
    this.chipLabel = opts.chipLabel
  }

  /** The chip the pins were found on (after start): its label and sysfs base. */
  get chip(): SysfsChip | null {
    return this.headerChip
  }

  /** Whether button presses can be reported (false when edge interrupts could not be set up). */
  get buttonAvailable(): boolean {
    return this.watching
  }

  protected async openHardware(): Promise<void> {
    const { Gpio } = await import('onoff')
    if (!Gpio.accessible) throw new GpioError('NOT_ACCESSIBLE', 'no sysfs GPIO (/sys/class/gpio/export)')
    const chip = headerChip(await readSysfsChips(), this.chipLabel)
    const numbers = Object.fromEntries(
      [
        ...OUTPUT_LINES,
        ...(this.pins.button !== undefined ? ['button' as const] : []),
        ...(this.pins.powerFail !== undefined ? ['powerFail' as const] : []),
      ].map((line) => [line, sysfsNumber(chip, this.pins[line]!)]),
    ) as Record<OutputLine | 'button' | 'powerFail', number>
    this.headerChip = chip
    try {
      for (const line of OUTPUT_LINES) {
        const pin = new Gpio(numbers[line], 'low')
        // onoff ignores configuration errors on pins exported before (by a boot script or an earlier run), so
        // the "start low" of the direction write is not guaranteed: drive the line low explicitly.
        pin.writeSync(0)
        this.outputs.set(line, pin)
      }
      if (this.pins.button !== undefined) {
        this.button = new Gpio(numbers.button, 'in', 'both', {
          activeLow: this.pins.buttonActiveLow ?? true,
        })
      }
      if (this.pins.powerFail !== undefined) {
        this.powerFail = new Gpio(numbers.powerFail, 'in', 'both', {
          activeLow: this.pins.powerFailActiveLow ?? true,
        })
        // Watched like the button; a failure to watch it is a failure to start: the box must not take
        // payments believing it will hear the power go.
        this.powerFail.watch((err, value) => {
          if (err) this.onError(new GpioError('PIN_FAILED', 'power-fail read failed', { cause: err }))
          else this.powerFailLevel(value === 1 ? 1 : 0)
        })
      }
    } catch (err) {
      this.release()
      throw new GpioError('PIN_FAILED', 'cannot export or configure a GPIO pin', { cause: err })
    }
    if (this.button) {
      try {
        this.button.watch((err, value) => {
          if (err) this.onError(new GpioError('PIN_FAILED', 'button read failed', { cause: err }))
          else this.buttonLevel(value === 1 ? 1 : 0)
        })
        this.watching = true
      } catch (err) {
        // The LEDs matter more than the button: keep going, and say why presses will not come.
        this.onError(
          new GpioError('BUTTON_UNAVAILABLE', 'button edge interrupts unavailable', { cause: err }),
        )
      }
    }
  }

  protected async closeHardware(): Promise<void> {
    this.release()
  }

  protected writeLine(line: OutputLine, on: boolean): void {
    const pin = this.outputs.get(line)
    if (!pin) return
    try {
      pin.writeSync(on ? 1 : 0)
    } catch (err) {
      this.onError(new GpioError('PIN_FAILED', `write to ${line} failed`, { cause: err }))
    }
  }

  private release(): void {
    const pins = [
      ...this.outputs.values(),
      ...(this.button ? [this.button] : []),
      ...(this.powerFail ? [this.powerFail] : []),
    ]
    if (this.button && !this.watching) {
      // onoff registers the listener before epoll refuses it, and would then fail to unexport; drop it first.
      ;(this.button as unknown as { _listeners: unknown[] })._listeners = []
    }
    this.outputs.clear()
    this.button = null
    this.powerFail?.unwatchAll()
    this.powerFail = null
    this.watching = false
    for (const pin of pins) {
      try {
        pin.unexport()
      } catch (err) {
        this.onError(new GpioError('PIN_FAILED', 'unexport failed', { cause: err }))
      }
    }
  }
}
