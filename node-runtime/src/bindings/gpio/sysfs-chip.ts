/**
 * Which sysfs GPIO numbers the box's header pins have. The device config names pins by their BCM number (what
 * pinout diagrams print); sysfs numbers a line as its chip's base plus its offset, and the base is not always
 * 0: Pi 1–4 kernels before 6.6 use 0, 6.6+ kernels start at 512, and on a Pi 5 the header is on the RP1 chip
 * (`pinctrl-rp1`) at base 571, after the SoC's own gpio-brcmstb chips. So the base is read from
 * /sys/class/gpio/gpiochip*\/{label,base,ngpio}, never assumed.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { GpioError } from './gpio.js'

/** One gpio chip as sysfs lists it. */
export interface SysfsChip {
  label: string
  base: number
  ngpio: number
}

/** Labels of the chips that drive a Raspberry Pi's 40-pin header, newest board first. */
export const HEADER_CHIP_LABELS: readonly string[] = ['pinctrl-rp1', 'pinctrl-bcm2711', 'pinctrl-bcm2835']

/** Every `gpiochipN` under `root` (default /sys/class/gpio). */
export async function readSysfsChips(root = '/sys/class/gpio'): Promise<SysfsChip[]> {
  let names: string[]
  try {
    names = (await readdir(root)).filter((n) => /^gpiochip\d+$/.test(n))
  } catch (err) {
    throw new GpioError('NOT_ACCESSIBLE', `cannot list ${root}`, { cause: err })
  }
  const chips: SysfsChip[] = []
  for (const name of names) {
    const read = (file: string) => readFile(join(root, name, file), 'utf8').then((s) => s.trim())
    try {
      const [label, base, ngpio] = await Promise.all([read('label'), read('base'), read('ngpio')])
      chips.push({ label, base: Number(base), ngpio: Number(ngpio) })
    } catch (err) {
      throw new GpioError('NO_CHIP', `cannot read ${join(root, name)}`, { cause: err })
    }
  }
  return chips.sort((a, b) => a.base - b.base)
}

/**
 * The chip carrying the header: the one labelled `label` when the config names one, else the first known Pi
 * header chip, else the only chip there is (a board with one controller). Anything else is ambiguous and
 * refused rather than guessed: a wrong base would drive some other line.
 */
export function headerChip(chips: readonly SysfsChip[], label?: string): SysfsChip {
  const seen = chips.map((c) => `${c.label}@${c.base}`).join(', ') || 'none'
  if (label !== undefined) {
    const named = chips.filter((c) => c.label === label)
    if (named.length !== 1)
      throw new GpioError('NO_CHIP', `no single gpio chip labelled ${label} (chips: ${seen})`)
    return named[0]!
  }
  for (const known of HEADER_CHIP_LABELS) {
    const chip = chips.find((c) => c.label === known)
    if (chip) return chip
  }
  if (chips.length === 1) return chips[0]!
  throw new GpioError('NO_CHIP', `cannot tell which gpio chip drives the header (chips: ${seen})`)
}

/** The sysfs number of BCM pin `bcm` on `chip`; PIN_FAILED when the chip has no such line. */
export function sysfsNumber(chip: SysfsChip, bcm: number): number {
  if (!Number.isInteger(bcm) || bcm < 0 || bcm >= chip.ngpio)
    throw new GpioError('PIN_FAILED', `BCM pin ${bcm} is not on ${chip.label} (${chip.ngpio} lines)`)
  return chip.base + bcm
}
