// The real onoff binding (and its epoll addon) on an emulated /sys/class/gpio: testkit's gpiofs, a FUSE file
// system that raises POLLPRI on edges as the kernel does, mounted in a private mount namespace (this file
// re-runs itself there, once per board layout). Covers LED and buzzer patterns, the button's edge interrupts
// through the debouncer, and the sysfs numbering of a Pi 1–4 (base 0 or 512) and a Pi 5 (pinctrl-rp1, 571).
import { fileURLToPath } from 'node:url'
import {
  GPIO_SYSFS,
  type GpioChip,
  gpioNamespaceCommand,
  gpioSysfsUnavailable,
  PI_LAYOUTS,
  pinStates,
  setPinLevel,
} from '@opg/testkit/gpio-sysfs/index.js'
import t from 'tap'
import { type GpioPins, OnoffGpio, OUTPUT_LINES } from '../../src/bindings/gpio/index.js'
import { gpioContract, sleep } from './support/gpio-contract.js'

type Layout = keyof typeof PI_LAYOUTS
const LAYOUT = process.env.OPG_GPIO_LAYOUT as Layout | undefined
const pins: GpioPins = {
  ledOnline: 5,
  ledOk: 17,
  ledError: 27,
  buzzer: 22,
  button: 26,
  buttonActiveLow: true,
}

if (LAYOUT === undefined) {
  const unavailable = gpioSysfsUnavailable()
  for (const layout of Object.keys(PI_LAYOUTS) as Layout[]) {
    t.test(`onoff on gpiofs, ${layout} layout`, { skip: unavailable ?? false }, async (t) => {
      const run = gpioNamespaceCommand(PI_LAYOUTS[layout], process.execPath, [
        '--conditions=@opg/source',
        '--import',
        'tsx',
        fileURLToPath(import.meta.url),
      ])
      t.spawn(run.command, run.args, { env: { ...process.env, OPG_GPIO_LAYOUT: layout } }, layout)
    })
  }
} else {
  const chips: readonly GpioChip[] = PI_LAYOUTS[LAYOUT]
  const header = chips.find((c) => c.label === 'pinctrl-rp1' || c.label === 'pinctrl-bcm2711')!
  const sysfs = (bcm: number) => header.base + bcm
  const level = (bcm: number) => pinStates().get(sysfs(bcm))?.level
  const waitFor = async (what: string, ok: () => boolean) => {
    for (let i = 0; i < 500 && !ok(); i++) await sleep(10)
    if (!ok()) throw new Error(`timed out waiting for ${what}`)
  }

  t.test('this process sees gpiofs, not the machine’s sysfs', async (t) => {
    t.match(pinStates(), new Map(), 'the sim side file exists only on gpiofs')
    t.equal(pinStates().size, 0, 'nothing exported yet')
  })

  gpioContract(t, `onoff (${LAYOUT})`, () => {
    const errors: unknown[] = []
    const gpio = new OnoffGpio({ pins: { ...pins, button: undefined }, onError: (e) => errors.push(e) })
    return { gpio, isOn: (line) => level(pins[line]) === 1, errors }
  })

  t.test('BCM pins are exported at the header chip’s base; outputs low, button an input', async (t) => {
    const errors: unknown[] = []
    const gpio = new OnoffGpio({ pins, onError: (e) => errors.push(e) })
    await gpio.start()
    t.same(gpio.chip, header, `found ${header.label} at ${header.base}`)
    const states = pinStates()
    for (const line of OUTPUT_LINES) {
      t.same(states.get(sysfs(pins[line])), { direction: 'out', level: 0 }, `${line} is an output, low`)
    }
    t.same(states.get(sysfs(pins.button!)), { direction: 'in', level: 1 }, 'button input, pulled up')
    if (header.base !== 0) t.notOk(states.has(pins.ledOk), 'the bare BCM number is not touched')
    t.equal(gpio.buttonAvailable, true, 'edge interrupts are set up')
    await gpio.stop()
    t.equal(pinStates().size, 0, 'every pin unexported on stop')
    t.same(errors, [])
  })

  t.test('button: a bouncing press through edge interrupts is one press; a blip is none', async (t) => {
    const errors: unknown[] = []
    const debounceMs = 150
    const gpio = new OnoffGpio({ pins, debounceMs, onError: (e) => errors.push(e) })
    await gpio.start()
    t.teardown(() => gpio.stop())
    const presses: Date[] = []
    gpio.onButton((p) => presses.push(p.at))
    const button = sysfs(pins.button!)

    // Contact bounce: the line chatters for a few ms (each edge is an interrupt onoff reads), then stays low.
    for (let i = 0; i < 5; i++) {
      setPinLevel(button, 0)
      await sleep(1)
      setPinLevel(button, 1)
      await sleep(1)
    }
    setPinLevel(button, 0)
    await waitFor('the press', () => presses.length > 0)
    setPinLevel(button, 1)
    await sleep(debounceMs * 3)
    t.equal(presses.length, 1, 'one press for the bouncing contact')

    // A blip shorter than the debounce time (interference on a long cable) is not a press.
    setPinLevel(button, 0)
    await sleep(2)
    setPinLevel(button, 1)
    await sleep(debounceMs * 3)
    // A clean second press after a release counts again.
    setPinLevel(button, 0)
    await waitFor('the second press', () => presses.length > 1)
    setPinLevel(button, 1)
    t.equal(presses.length, 2, 'the blip was no press; the second real press was')
    t.same(errors, [])
  })

  t.test('button wired active high: presses come on the rising edge', async (t) => {
    const gpio = new OnoffGpio({ pins: { ...pins, buttonActiveLow: false }, debounceMs: 20 })
    const button = sysfs(pins.button!)
    setPinLevel(button, 0) // idle low with a pull-down, before export
    await gpio.start()
    t.teardown(() => gpio.stop())
    let presses = 0
    gpio.onButton(() => presses++)
    setPinLevel(button, 1)
    await waitFor('the press', () => presses === 1)
    setPinLevel(button, 0)
    t.equal(presses, 1)
  })

  t.test('power-fail input: exported at the chip base, its falling edge is heard once', async (t) => {
    const powerFail = 16
    const line = sysfs(powerFail)
    setPinLevel(line, 1) // the HAT holds the line high while power is good
    const gpio = new OnoffGpio({ pins: { ...pins, powerFail, powerFailActiveLow: true } })
    await gpio.start()
    t.teardown(() => gpio.stop())
    t.same(pinStates().get(line), { direction: 'in', level: 1 }, `input at ${line}, not at BCM ${powerFail}`)
    const events: Date[] = []
    gpio.onPowerFail((at) => events.push(at))
    await sleep(50)
    t.equal(events.length, 0, 'nothing while power is good')
    setPinLevel(line, 0)
    await waitFor('the power-fail event', () => events.length > 0)
    setPinLevel(line, 1)
    setPinLevel(line, 0)
    await sleep(100)
    t.equal(events.length, 1, 'reported once')
  })

  t.test('a pin the header chip lacks, or a chip label not present, fails start', async (t) => {
    await t.rejects(new OnoffGpio({ pins: { ...pins, buzzer: 60 } }).start(), { code: 'PIN_FAILED' })
    await t.rejects(new OnoffGpio({ pins, chipLabel: 'gpio-sunxi' }).start(), { code: 'NO_CHIP' })
    t.equal(pinStates().size, 0, 'nothing left exported')
    t.ok(GPIO_SYSFS)
  })
}
