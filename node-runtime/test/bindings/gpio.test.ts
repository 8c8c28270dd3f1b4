// The GPIO contract on SimGpio and on OnoffGpio with the real onoff code writing to an emulated sysfs: a tmpfs
// mounted over /sys/class in a private mount namespace (this file re-runs itself there under `unshare -m`).
// Emulation limit: epoll refuses regular files (EPERM), so button edge interrupts cannot reach onoff there;
// button behaviour is covered on SimGpio through the same debouncer.
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import {
  type Gpio,
  type GpioPins,
  OnoffGpio,
  OUTPUT_LINES,
  type OutputLine,
  SimGpio,
  signalAccepted,
  signalRejected,
} from '../../src/bindings/gpio/index.js'

const IN_SYSFS_NAMESPACE = process.env.OPG_GPIO_SYSFS === '1'
const SYSFS = '/sys/class/gpio'
const pins: GpioPins = { ledOnline: 5, ledOk: 6, ledError: 13, buzzer: 19, button: 26, buttonActiveLow: true }

interface Target {
  gpio: Gpio
  /** The level an observer of the pin would see right now. */
  isOn(line: OutputLine): boolean
  errors: unknown[]
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * The sequence of levels a line goes through during `ms`, sampled every 5 ms. Pattern steps are timers at least
 * tens of ms apart, and an earlier-due sample timer always runs first, so no step is missed even on a busy
 * machine — the assertion is on the sequence, not on when it happened.
 */
async function levels(x: Target, line: OutputLine, ms: number): Promise<boolean[]> {
  const seen: boolean[] = [x.isOn(line)]
  const poll = setInterval(() => {
    const v = x.isOn(line)
    if (v !== seen.at(-1)) seen.push(v)
  }, 5)
  await sleep(ms)
  clearInterval(poll)
  return seen
}

function contract(t: Test, name: string, make: () => Target): void {
  t.test(`gpio contract: ${name}`, async (t) => {
    t.test('switches LEDs and refuses use before start', async (t) => {
      const x = make()
      t.throws(() => x.gpio.set('ledOk', true), { code: 'NOT_STARTED' })
      await x.gpio.start()
      t.teardown(() => x.gpio.stop())
      for (const line of OUTPUT_LINES) t.equal(x.isOn(line), false, `${line} starts off`)
      x.gpio.set('ledOnline', true)
      t.equal(x.isOn('ledOnline'), true)
      x.gpio.set('ledOnline', false)
      t.equal(x.isOn('ledOnline'), false)
    })

    t.test('accepted: green and one beep; red off', async (t) => {
      const x = make()
      await x.gpio.start()
      t.teardown(() => x.gpio.stop())
      x.gpio.set('ledError', true)
      signalAccepted(x.gpio)
      t.equal(x.isOn('ledError'), false)
      const [buzzer, ok] = await Promise.all([levels(x, 'buzzer', 300), levels(x, 'ledOk', 300)])
      t.same(buzzer, [true, false], 'one beep, then quiet')
      t.same(ok, [true], 'green stays lit past the beep')
    })

    t.test('rejected: red and three beeps; green off', async (t) => {
      const x = make()
      await x.gpio.start()
      t.teardown(() => x.gpio.stop())
      x.gpio.set('ledOk', true)
      signalRejected(x.gpio)
      t.equal(x.isOn('ledOk'), false)
      t.equal(x.isOn('ledError'), true)
      t.same(await levels(x, 'buzzer', 600), [true, false, true, false, true, false])
    })

    t.test('a new pattern replaces the one playing; set() cancels it', async (t) => {
      const x = make()
      await x.gpio.start()
      t.teardown(() => x.gpio.stop())
      x.gpio.play('ledOk', [60])
      x.gpio.set('ledOk', true)
      t.same(await levels(x, 'ledOk', 150), [true], 'the old pattern did not switch it off')
    })

    t.test('stop switches everything off and no timer fires afterwards', async (t) => {
      const x = make()
      await x.gpio.start()
      signalAccepted(x.gpio)
      x.gpio.set('ledOnline', true)
      await x.gpio.stop()
      for (const line of OUTPUT_LINES) t.equal(x.isOn(line), false, `${line} off`)
      await sleep(150)
      t.same(x.errors, [])
    })
  })
}

if (!IN_SYSFS_NAMESPACE) {
  contract(t, 'sim', () => {
    const gpio = new SimGpio()
    return { gpio, isOn: (line) => gpio.lastWrite(line) ?? false, errors: [] }
  })

  t.test('sim button: bounce is one press; presses need a release in between', async (t) => {
    const gpio = new SimGpio({ debounceMs: 20 })
    await gpio.start()
    t.teardown(() => gpio.stop())
    const presses: Date[] = []
    const off = gpio.onButton((p) => presses.push(p.at))
    await gpio.pressButton({ bounces: 5 })
    t.equal(presses.length, 1, 'bouncing contacts give one press')
    await gpio.pressButton({ bounces: 0 })
    t.equal(presses.length, 2)
    off()
    await gpio.pressButton()
    t.equal(presses.length, 2, 'unsubscribed listener hears nothing')
  })

  t.test(
    'sim button: a press too short to be real is ignored, and nothing is heard after stop',
    async (t) => {
      const gpio = new SimGpio({ debounceMs: 40 })
      await gpio.start()
      let presses = 0
      gpio.onButton(() => presses++)
      await gpio.pressButton({ holdMs: 5 })
      t.equal(presses, 0, 'a 5 ms blip is noise')
      await gpio.stop()
      await gpio.pressButton()
      t.equal(presses, 0)
    },
  )

  const probe = spawnSync('unshare', [
    '-m',
    '--propagation',
    'private',
    'sh',
    '-c',
    'mount -t tmpfs tmpfs /sys/class',
  ])
  t.test(
    'onoff on an emulated sysfs (private mount namespace)',
    { skip: probe.status === 0 ? false : `unshare/mount not permitted: ${probe.stderr}` },
    async (t) => {
      const here = fileURLToPath(import.meta.url)
      t.spawn(
        'unshare',
        [
          '-m',
          '--propagation',
          'private',
          'sh',
          '-c',
          `mount -t tmpfs tmpfs /sys/class && mkdir ${SYSFS} && exec "$0" --conditions=@opg/source --import tsx "$1"`,
          process.execPath,
          here,
        ],
        { env: { ...process.env, OPG_GPIO_SYSFS: '1' } },
        'onoff child',
      )
    },
  )
} else {
  // The kernel creates these on export; here they stand as if a boot script had exported the pins already.
  writeFileSync(`${SYSFS}/export`, '')
  writeFileSync(`${SYSFS}/unexport`, '')
  for (const pin of [pins.ledOnline, pins.ledOk, pins.ledError, pins.buzzer, pins.button!]) {
    mkdirSync(`${SYSFS}/gpio${pin}`)
    for (const [file, v] of [
      ['direction', 'in'],
      ['value', '1'],
      ['edge', 'none'],
      ['active_low', '0'],
    ] as const) {
      writeFileSync(`${SYSFS}/gpio${pin}/${file}`, v)
    }
  }
  const read = (pin: number, file: string) => readFileSync(`${SYSFS}/gpio${pin}/${file}`, 'utf8').trim()

  contract(t, 'onoff', () => {
    const errors: unknown[] = []
    const gpio = new OnoffGpio({ pins: { ...pins, button: undefined }, onError: (e) => errors.push(e) })
    return { gpio, isOn: (line) => read(pins[line], 'value') === '1', errors }
  })

  t.test(
    'onoff: outputs start low as outputs; the button is an active-low input on both edges',
    async (t) => {
      const errors: unknown[] = []
      const gpio = new OnoffGpio({ pins, onError: (e) => errors.push(e) })
      await gpio.start()
      for (const line of OUTPUT_LINES) {
        // onoff writes "low" (output, initially low); a real kernel would then show "out".
        t.equal(read(pins[line], 'direction'), 'low', `${line} is an output driven low`)
        t.equal(read(pins[line], 'value'), '0', `${line} starts low`)
      }
      t.equal(read(pins.button!, 'direction'), 'in')
      t.equal(read(pins.button!, 'edge'), 'both')
      t.equal(read(pins.button!, 'active_low'), '1')
      // epoll cannot watch a tmpfs file, so the binding reports the button as unavailable and keeps the LEDs.
      t.equal(gpio.buttonAvailable, false)
      t.match(errors, [{ code: 'BUTTON_UNAVAILABLE' }])
      gpio.set('ledOk', true)
      t.equal(read(pins.ledOk, 'value'), '1')
      await gpio.stop()
      t.equal(errors.length, 1, 'pins released without further errors')
    },
  )

  t.test('onoff: a missing pin fails start with PIN_FAILED', async (t) => {
    const gpio = new OnoffGpio({ pins: { ...pins, buzzer: 99 } })
    await t.rejects(gpio.start(), { code: 'PIN_FAILED' })
  })
}
