/**
 * An emulated sysfs GPIO class for the real onoff library: `gpiofs` (a FUSE file system, gpiofs.c) mounted on
 * /sys/class/gpio inside a private mount namespace, so edge interrupts reach onoff's epoll as they do on a
 * Pi, and the machine's real /sys is never touched. A test re-runs itself inside the namespace with
 * `gpioNamespaceCommand()` and, in there, drives input pins and reads output pins through the `sim` file.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const HERE = dirname(fileURLToPath(import.meta.url))
const SOURCE = join(HERE, 'gpiofs.c')
const SCRIPT = join(HERE, 'gpio-namespace.sh')

/** Where gpiofs is mounted inside the namespace (onoff's fixed path). */
export const GPIO_SYSFS = '/sys/class/gpio'

/** One gpio chip as the kernel lists it: sysfs numbers base … base + ngpio − 1. */
export interface GpioChip {
  base: number
  ngpio: number
  label: string
}

/** Pi layouts: the header's BCM pin N is sysfs number base + N of the SoC's pin controller. */
export const PI_LAYOUTS = {
  /** Pi 1–4 on kernels before 6.6: base 0, and the firmware GPIO expander above it. */
  pi4Legacy: [
    { base: 0, ngpio: 58, label: 'pinctrl-bcm2711' },
    { base: 504, ngpio: 8, label: 'raspberrypi-exp-gpio' },
  ],
  /** Pi 4 on kernel 6.6+: gpio chips numbered from 512. */
  pi4: [
    { base: 512, ngpio: 58, label: 'pinctrl-bcm2711' },
    { base: 570, ngpio: 8, label: 'raspberrypi-exp-gpio' },
  ],
  /** Pi 5: the SoC's own gpio-brcmstb chips come first; the 40-pin header is on the RP1, base 571. */
  pi5: [
    { base: 512, ngpio: 32, label: 'gpio-brcmstb@107d508500' },
    { base: 544, ngpio: 4, label: 'gpio-brcmstb@107d508520' },
    { base: 548, ngpio: 17, label: 'gpio-brcmstb@107d517c00' },
    { base: 565, ngpio: 6, label: 'gpio-brcmstb@107d517c20' },
    { base: 571, ngpio: 54, label: 'pinctrl-rp1' },
  ],
} as const satisfies Record<string, readonly GpioChip[]>

/** Why the emulation cannot run on this machine, or undefined when it can. */
export function gpioSysfsUnavailable(): string | undefined {
  try {
    accessSync('/dev/fuse', constants.R_OK | constants.W_OK)
  } catch {
    return '/dev/fuse is missing or not accessible (no FUSE in this kernel or container)'
  }
  const cc = spawnSync('sh', ['-c', 'command -v gcc && pkg-config --exists fuse3'], { encoding: 'utf8' })
  if (cc.status !== 0) return 'gcc or libfuse3-dev (pkg-config fuse3) is not installed'
  const probe = spawnSync('unshare', [...unshareArgs(), 'true'], { encoding: 'utf8' })
  if (probe.status !== 0)
    return `cannot make a private mount namespace: ${probe.stderr.trim() || probe.error}`
  return undefined
}

/** Compile gpiofs (once per source version) and return the binary's path. */
export function buildGpiofs(): string {
  const source = readFileSync(SOURCE)
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16)
  const dir = join(tmpdir(), `opg-gpiofs-${hash}`)
  const bin = join(dir, 'gpiofs')
  if (existsSync(bin)) return bin
  mkdirSync(dir, { recursive: true })
  const flags = execFileSync('pkg-config', ['--cflags', '--libs', 'fuse3'], { encoding: 'utf8' }).trim()
  const tmp = `${bin}.${process.pid}`
  execFileSync('sh', [
    '-c',
    `gcc -O2 -Wall -Werror -o "$1" "$2" ${flags} && mv "$1" "$3"`,
    'sh',
    tmp,
    SOURCE,
    bin,
  ])
  return bin
}

/** `unshare` arguments for a private mount namespace (a user namespace too when not root). */
function unshareArgs(): string[] {
  const root = process.getuid?.() === 0
  return [...(root ? [] : ['-U', '-r']), '-m', '--propagation', 'private']
}

/** A command line that runs `command args…` with gpiofs (showing `chips`) on /sys/class/gpio. */
export function gpioNamespaceCommand(
  chips: readonly GpioChip[],
  command: string,
  args: readonly string[],
): { command: string; args: string[] } {
  const spec = chips.map((c) => `${c.base}:${c.ngpio}:${c.label}`).join(',')
  const callerNs = readlinkSync('/proc/self/ns/mnt')
  return {
    command: 'unshare',
    args: [...unshareArgs(), 'sh', SCRIPT, buildGpiofs(), spec, callerNs, command, ...args],
  }
}

/** Inside the namespace: set an input pin's physical level (1 high, 0 low), raising its edge interrupt. */
export function setPinLevel(sysfsNumber: number, level: 0 | 1): void {
  writeFileSync(join(GPIO_SYSFS, 'sim'), `${sysfsNumber} ${level}`)
}

/** Inside the namespace: every exported pin's direction and physical level (what a meter would show). */
export function pinStates(): Map<number, { direction: 'in' | 'out'; level: 0 | 1 }> {
  const states = new Map<number, { direction: 'in' | 'out'; level: 0 | 1 }>()
  for (const row of readFileSync(join(GPIO_SYSFS, 'sim'), 'utf8').split('\n')) {
    const m = /^(\d+) (in|out) ([01])$/.exec(row)
    if (m) states.set(Number(m[1]), { direction: m[2] as 'in' | 'out', level: Number(m[3]) as 0 | 1 })
  }
  return states
}
