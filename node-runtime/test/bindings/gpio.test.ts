// The GPIO contract and the button debouncer on SimGpio, and how BCM pins map to sysfs numbers. The real onoff
// binding runs the same contract on an emulated sysfs in gpio-sysfs.test.ts.
import t from 'tap'
import { headerChip, SimGpio, type SysfsChip, sysfsNumber } from '../../src/bindings/gpio/index.js'
import { gpioContract } from './support/gpio-contract.js'

gpioContract(t, 'sim', () => {
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

t.test('sim button: a press too short to be real is ignored, and nothing is heard after stop', async (t) => {
  const gpio = new SimGpio({ debounceMs: 40 })
  await gpio.start()
  let presses = 0
  gpio.onButton(() => presses++)
  await gpio.pressButton({ holdMs: 5 })
  t.equal(presses, 0, 'a 5 ms blip is noise')
  await gpio.stop()
  await gpio.pressButton()
  t.equal(presses, 0)
})

t.test('header chip: the Pi header chip is found among others, whatever its base', async (t) => {
  const pi5: SysfsChip[] = [
    { label: 'gpio-brcmstb@107d508500', base: 512, ngpio: 32 },
    { label: 'gpio-brcmstb@107d517c00', base: 548, ngpio: 17 },
    { label: 'pinctrl-rp1', base: 571, ngpio: 54 },
  ]
  t.equal(sysfsNumber(headerChip(pi5), 17), 588, 'Pi 5: BCM 17 is sysfs 571 + 17')
  const pi4 = [
    { label: 'raspberrypi-exp-gpio', base: 504, ngpio: 8 },
    { label: 'pinctrl-bcm2711', base: 0, ngpio: 58 },
  ]
  t.equal(sysfsNumber(headerChip(pi4), 17), 17, 'Pi 4, old kernel: base 0')
  t.equal(sysfsNumber(headerChip([{ ...pi4[1]!, base: 512 }]), 17), 529, 'Pi 4, kernel 6.6: base 512')
  t.equal(headerChip([{ label: 'gpio-sunxi', base: 32, ngpio: 20 }]).base, 32, 'a single chip is the one')
  t.equal(headerChip([...pi5, { label: 'my-board', base: 700, ngpio: 8 }], 'my-board').base, 700)
})

t.test(
  'header chip: ambiguous or missing chips and pins off the chip are refused, not guessed',
  async (t) => {
    const two = [
      { label: 'gpio-a', base: 0, ngpio: 8 },
      { label: 'gpio-b', base: 8, ngpio: 8 },
    ]
    t.throws(() => headerChip(two), { code: 'NO_CHIP', message: /gpio-a@0, gpio-b@8/ })
    t.throws(() => headerChip([]), { code: 'NO_CHIP' })
    t.throws(() => headerChip(two, 'pinctrl-rp1'), { code: 'NO_CHIP' })
    const chip = { label: 'pinctrl-rp1', base: 571, ngpio: 54 }
    t.throws(() => sysfsNumber(chip, 54), { code: 'PIN_FAILED' })
    t.throws(() => sysfsNumber(chip, -1), { code: 'PIN_FAILED' })
    t.equal(sysfsNumber(chip, 53), 624)
  },
)
