// gpiofs keeps the kernel's sysfs GPIO rules (drivers/gpio/gpiolib-sysfs.c) that a binding could trip on: export
// errors, value writes on inputs, active_low, direction low/high, edges only on inputs. Runs in its own
// private mount namespace, re-executing this file there.
import { closeSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import {
  GPIO_SYSFS,
  gpioNamespaceCommand,
  gpioSysfsUnavailable,
  pinStates,
  setPinLevel,
} from '../src/gpio-sysfs/index.js'

const chips = [
  { base: 512, ngpio: 32, label: 'gpio-brcmstb@107d508500' },
  { base: 571, ngpio: 54, label: 'pinctrl-rp1' },
]

if (process.env.OPG_GPIOFS_INSIDE !== '1') {
  t.test('gpiofs in a private mount namespace', { skip: gpioSysfsUnavailable() ?? false }, async (t) => {
    const run = gpioNamespaceCommand(chips, process.execPath, [
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
    ])
    t.spawn(run.command, run.args, { env: { ...process.env, OPG_GPIOFS_INSIDE: '1' } }, 'inside')
  })
  t.test('the wrapper refuses to mount in the caller’s own mount namespace', async (t) => {
    const { spawnSync } = await import('node:child_process')
    const run = gpioNamespaceCommand(chips, 'true', [])
    // Run the wrapper script directly, without unshare: it must see its caller's namespace and stop.
    const script = run.args.indexOf('sh')
    const r = spawnSync('sh', run.args.slice(script + 1), { encoding: 'utf8' })
    t.equal(r.status, 97, 'exit 97 before any mount')
    t.match(r.stderr, /refusing to mount/)
  })
} else {
  const path = (p: string) => `${GPIO_SYSFS}/${p}`
  const read = (p: string) => readFileSync(path(p), 'utf8').trim()
  const write = (p: string, v: string) => writeFileSync(path(p), v)

  t.test('chips are listed with label, base and ngpio', async (t) => {
    t.equal(read('gpiochip571/label'), 'pinctrl-rp1')
    t.equal(read('gpiochip571/base'), '571')
    t.equal(read('gpiochip512/ngpio'), '32')
  })

  t.test('export: lines outside every chip are EINVAL, a second export EBUSY', async (t) => {
    t.throws(() => write('export', '17'), { code: 'EINVAL' }, 'a bare BCM number is no line on a Pi 5')
    t.throws(() => write('export', '625'), { code: 'EINVAL' })
    write('export', '588')
    t.throws(() => write('export', '588'), { code: 'EBUSY' })
    t.equal(read('gpio588/direction'), 'in')
    t.equal(read('gpio588/edge'), 'none')
    write('unexport', '588')
    t.throws(() => write('unexport', '588'), { code: 'EINVAL' })
    t.throws(() => read('gpio588/value'), { code: 'ENOENT' })
  })

  t.test('values: inputs refuse writes; outputs follow direction low/high and active_low', async (t) => {
    write('export', '590')
    t.throws(() => write('gpio590/value', '1'), { code: 'EPERM' })
    setPinLevel(590, 0)
    t.equal(read('gpio590/value'), '0')
    write('gpio590/active_low', '1')
    t.equal(read('gpio590/value'), '1', 'active_low inverts the logical value')
    write('gpio590/direction', 'high')
    t.same(pinStates().get(590), { direction: 'out', level: 1 }, '"high" is a physical level')
    t.equal(read('gpio590/value'), '0')
    write('gpio590/value', '1')
    t.same(pinStates().get(590), { direction: 'out', level: 0 }, 'logical 1 with active_low drives low')
    t.throws(() => write('gpio590/edge', 'both'), { code: 'EIO' }, 'no interrupt on an output')
    t.throws(() => setPinLevel(590, 1), { code: 'EPERM' }, 'the test cannot drive an output')
    write('unexport', '590')
  })

  t.test('an open value file reads the current level at offset 0 on every read (direct I/O)', async (t) => {
    write('export', '591')
    write('gpio591/edge', 'rising')
    const fd = openSync(path('gpio591/value'), 'r')
    t.teardown(() => closeSync(fd))
    const buf = Buffer.alloc(4)
    setPinLevel(591, 0)
    setPinLevel(591, 1)
    t.equal(readSync(fd, buf, 0, 4, 0), 2)
    t.equal(buf.subarray(0, 1).toString(), '1')
    write('gpio591/edge', 'none')
    write('unexport', '591')
  })
}
