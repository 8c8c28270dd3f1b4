/**
 * The GPIO contract suite, run on SimGpio (gpio.test.ts) and on OnoffGpio through an emulated sysfs
 * (gpio-sysfs.test.ts): the same LED and buzzer patterns must come out of both.
 */
import type { Test } from 'tap'
import {
  type Gpio,
  OUTPUT_LINES,
  type OutputLine,
  signalAccepted,
  signalRejected,
} from '../../../src/bindings/gpio/index.js'

/** One implementation under test. */
export interface GpioTarget {
  gpio: Gpio
  /** The level an observer of the pin would see right now. */
  isOn(line: OutputLine): boolean
  errors: unknown[]
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * The sequence of levels a line goes through during `ms`, sampled every 5 ms. Pattern steps are timers at least
 * tens of ms apart, and an earlier-due sample timer always runs first, so no step is missed even on a busy
 * machine — the assertion is on the sequence, not on when it happened.
 */
export async function levels(x: GpioTarget, line: OutputLine, ms: number): Promise<boolean[]> {
  const seen: boolean[] = [x.isOn(line)]
  const poll = setInterval(() => {
    const v = x.isOn(line)
    if (v !== seen.at(-1)) seen.push(v)
  }, 5)
  await sleep(ms)
  clearInterval(poll)
  return seen
}

/** The contract every `Gpio` keeps. */
export function gpioContract(t: Test, name: string, make: () => GpioTarget): void {
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
