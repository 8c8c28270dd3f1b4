/** The GPIO binding: LEDs, buzzer and button — interface, onoff implementation, simulation, signal helpers. */
export {
  ButtonDebouncer,
  type ButtonPress,
  type Gpio,
  GpioError,
  type GpioErrorCode,
  OUTPUT_LINES,
  type OutputLine,
  RESULT_LED_MS,
  signalAccepted,
  signalOnline,
  signalRejected,
} from './gpio.js'
export { type GpioPins, OnoffGpio, type OnoffGpioOptions } from './onoff-gpio.js'
export { PatternGpio, type PatternGpioOptions } from './pattern-gpio.js'
export { type GpioWrite, SimGpio } from './sim-gpio.js'
export {
  HEADER_CHIP_LABELS,
  headerChip,
  readSysfsChips,
  type SysfsChip,
  sysfsNumber,
} from './sysfs-chip.js'
