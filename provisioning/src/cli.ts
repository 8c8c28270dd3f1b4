/**
 * The `opg-provision` command: the field technician's tool. Keys may also come from the environment
 * (OPG_OPERATOR_KEY) so they stay out of shell history. Each subcommand is one `subcommand(...)` call below
 * with its handler beside it; long steps (enrolment, the serial push, waiting for the box) show progress.
 * Exit codes: 0 ok, 1 refused or failed, 2 usage.
 */

import { mkdir, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { type CryptoBackend, deviceTag, newSetupCode } from '@opg/protocol'
import {
  action,
  EXIT as CLI_EXIT,
  type CliFailure,
  CliUsageError,
  createProgram,
  EXIT_HELP,
  jsonOption,
  runProgram,
  startProgress,
  subcommand,
} from '@opg/protocol/cli'
import { BridgeClient } from './bridge-client.js'
import { enrolBox } from './enrol.js'
import { ProvisionError } from './errors.js'
import { renderStickerPng, renderStickerSvg, renderStickerTerminal, stickerFromBundle } from './sticker.js'
import { formatDevice, waitOnline } from './verify.js'

/** Where the CLI writes and what it may use. */
export interface ProvisionIo {
  stdout: (line: string) => void
  stderr: (line: string) => void
  env: NodeJS.ProcessEnv
  c: CryptoBackend
  /** Sends a bundle over a serial port (the `push` command); absent where serial is not available. */
  push?: (serialPath: string, dir: string, baud: number) => Promise<void>
  /** Sends a bundle over BLE to the box advertising `OPGS <setupId>` (the `push --ble` command). */
  pushBle?: (setupId: string, code: string, dir: string) => Promise<void>
  /** A terminal for progress bars (the launcher passes process.stderr when it is a TTY). */
  progressStream?: NodeJS.WriteStream
}

export const EXIT = { ok: CLI_EXIT.ok, failed: CLI_EXIT.refused, usage: CLI_EXIT.usage } as const

/** The environment paragraph of `--help`. */
export const USAGE = 'OPG_OPERATOR_KEY may stand in for --operator-key; OPG_BRIDGE_URL for --bridge.'

const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version

/** Run the command line; returns the exit code. */
export async function runProvisionCli(argv: string[], io: ProvisionIo): Promise<number> {
  const output = { out: io.stdout, err: io.stderr, progressStream: io.progressStream }
  const program = createProgram(
    {
      name: 'opg-provision',
      description: 'enrol merchant boxes, print their stickers, send their bundles, check they come online',
      version: VERSION,
      epilog: `${USAGE}\n\n${EXIT_HELP}`,
    },
    output,
  )
  const bridge = (o: { bridge?: string; operatorKey?: string }) => {
    const url = o.bridge ?? io.env.OPG_BRIDGE_URL
    const key = o.operatorKey ?? io.env.OPG_OPERATOR_KEY
    if (!url) throw new CliUsageError('needs --bridge (or OPG_BRIDGE_URL)')
    if (!key) throw new CliUsageError('needs --operator-key (or OPG_OPERATOR_KEY)')
    return new BridgeClient(url, key)
  }

  subcommand(
    program,
    'enrol',
    'register a box with the bridge and write its bundle (keys, certificate, config)',
    [
      'opg-provision enrol --bridge https://bridge.example --merchant-name "Corner Cafe" --label till-1 --out ./box1 --mqtt-url mqtts://broker.example:8883',
      'opg-provision enrol --merchant-id 00000000000000aa --label till-2 --out ./box2 --mqtt-url mqtt://10.0.0.2 --modem-number +4915112345678',
    ],
  )
    .option('--bridge <url>', "the bridge's API (env OPG_BRIDGE_URL)")
    .option('--operator-key <key>', 'operator key (env OPG_OPERATOR_KEY)')
    .option('--merchant-id <id>', 'an existing merchant')
    .option('--merchant-name <name>', 'create a merchant with this name')
    .requiredOption('--label <label>', "the box's name in the fleet view")
    .requiredOption('--out <dir>', 'where the bundle is written (must not hold one)')
    .requiredOption('--mqtt-url <url>', 'the broker the box connects to')
    .option('--box-dir <dir>', 'where the bundle will be on the box', '/boot/opg')
    .option('--data-dir <dir>', "the box's data directory (vault), written into its config", '/var/lib/opg')
    .option(
      '--modem-number <e164>',
      "the box's SIM number: the bridge texts OPG1 PAID there while the box is offline",
    )
    .action(
      action(
        async (o: {
          bridge?: string
          operatorKey?: string
          merchantId?: string
          merchantName?: string
          label: string
          out: string
          mqttUrl: string
          boxDir: string
          dataDir: string
          modemNumber?: string
        }) => {
          if (Boolean(o.merchantId) === Boolean(o.merchantName)) {
            throw new CliUsageError('enrol needs one of --merchant-id and --merchant-name')
          }
          const progress = startProgress(output, 'enrol', 3)
          let step = 0
          const r = await enrolBox({
            c: io.c,
            bridge: bridge(o),
            merchant: o.merchantId ? { id: o.merchantId } : { name: o.merchantName! },
            label: o.label,
            out: o.out,
            mqttUrl: o.mqttUrl,
            boxDir: o.boxDir,
            dataDir: o.dataDir,
            ...(o.modemNumber ? { modemNumber: o.modemNumber } : {}),
            onStep: (note) => progress.update(++step, note),
          })
          progress.finish()
          io.stdout(`enrolled box ${r.deviceId} (tag ${deviceTag(r.deviceId)}) for ${r.merchantName}`)
          io.stdout(`tenant ${r.tenantId}, merchant ${r.merchantId}`)
          io.stdout(
            `bundle written to ${r.dir}: ${r.manifest.files.map((f) => f.name).join(', ')}, manifest.json`,
          )
          io.stdout(`box data directory ${o.dataDir}`)
          if (r.merchantKey) io.stdout(`merchant API key (shown once): ${r.merchantKey}`)
          io.stdout(`device API key (shown once): ${r.deviceKey}`)
          if (r.manifest.modemNumber) {
            io.stdout(
              `modem number ${r.manifest.modemNumber} registered with the bridge (OPG1 PAID SMS go there)`,
            )
          }
          return 0
        },
      ),
    )

  subcommand(
    program,
    'sticker <dir>',
    "print the box's merchant sticker: PNG for label printers, SVG, or the terminal",
    [
      'opg-provision sticker ./box1 --png sticker.png',
      'opg-provision sticker ./box1 --png sticker.png --dpi 600',
      'opg-provision sticker ./box1 --svg sticker.svg',
    ],
  )
    .option('--png <file>', 'write a PNG (rendered from the SVG)')
    .option('--dpi <n>', 'PNG resolution for the label printer', '300')
    .option('--svg <file>', 'write an SVG')
    .option('--terminal', 'draw it in the terminal')
    .action(
      action(async (dir: string, o: { png?: string; svg?: string; terminal?: boolean; dpi: string }) => {
        if ([o.png, o.svg, o.terminal].filter(Boolean).length !== 1) {
          throw new CliUsageError('sticker needs exactly one of --png, --svg, --terminal')
        }
        const dpi = Number(o.dpi)
        if (!Number.isInteger(dpi) || dpi < 72 || dpi > 2400)
          throw new CliUsageError('--dpi takes 72 to 2400')
        const s = await stickerFromBundle(dir)
        if (o.png) await writeFile(o.png, renderStickerPng(s, { dpi }))
        else if (o.svg) await writeFile(o.svg, renderStickerSvg(s))
        else io.stdout(await renderStickerTerminal(s))
        if (!o.terminal) io.stdout(`sticker for ${s.merchantName}, box ${s.tag} written to ${o.png ?? o.svg}`)
        return 0
      }),
    )

  subcommand(
    program,
    'verify',
    'wait until the box is online at the bridge, then show what the bridge knows of it',
    ['opg-provision verify --device 00000000000000d1 --timeout 120'],
  )
    .option('--bridge <url>', "the bridge's API (env OPG_BRIDGE_URL)")
    .option('--operator-key <key>', 'operator key (env OPG_OPERATOR_KEY)')
    .requiredOption('--device <id>', 'the box (device id enrol printed)')
    .option('--timeout <seconds>', 'give up after this long', '60')
    .addOption(jsonOption())
    .action(
      action(
        async (o: {
          bridge?: string
          operatorKey?: string
          device: string
          timeout: string
          json?: boolean
        }) => {
          const timeout = Number(o.timeout)
          if (!Number.isFinite(timeout) || timeout < 0) throw new CliUsageError('--timeout takes seconds')
          const progress = startProgress(output, 'verify')
          const device = await waitOnline(bridge(o), o.device, {
            timeoutMs: timeout * 1000,
            onPoll: (d) =>
              progress.step(
                d
                  ? `box seen ${d.lastSeenAt ?? 'never'}, ${d.online ? 'online' : 'offline'}`
                  : 'box not in the fleet view yet',
              ),
          }).finally(() => progress.finish())
          // The failure is printed once, by the error line (it used to be echoed on stdout as well).
          io.stdout(o.json ? JSON.stringify(device) : formatDevice(device))
          return 0
        },
      ),
    )

  subcommand(
    program,
    'setup-code <dir>',
    'give a new box its one-time BLE setup code (at image time): writes <dir>/setup-code.json, prints the label',
    ['opg-provision setup-code /mnt/boot/opg'],
  ).action(
    action(async (dir: string) => {
      const setup = newSetupCode()
      await mkdir(dir, { recursive: true, mode: 0o700 })
      try {
        await writeFile(join(dir, 'setup-code.json'), `${JSON.stringify(setup)}\n`, {
          mode: 0o600,
          flag: 'wx',
        })
      } catch (cause) {
        throw new ProvisionError('bundle_exists', `${dir} already has a setup code; keep its label`, {
          cause,
        })
      }
      io.stdout(`setup id ${setup.setupId}`)
      io.stdout(`code     ${setup.code}`)
      return 0
    }),
  )

  subcommand(
    program,
    'push <dir>',
    "send a bundle to a box over its serial console or BLE (the box runs 'opg-node receive-provisioning')",
    [
      'opg-provision push ./box1 --serial /dev/ttyUSB0',
      'OPG_SETUP_CODE=7KQ2-M9XA-P3RT-V8WZ opg-provision push ./box1 --ble K7Q2M9XA',
    ],
  )
    .option('--serial <path>', 'the serial device')
    .option('--baud <n>', 'baud rate', '115200')
    .option(
      '--ble <setup-id>',
      "over BLE, to the box whose label shows this setup id (needs the label's code)",
    )
    .option('--code <code>', 'the setup code on the label (or OPG_SETUP_CODE)')
    .action(
      action(async (dir: string, o: { serial?: string; baud: string; ble?: string; code?: string }) => {
        if ((o.serial === undefined) === (o.ble === undefined))
          throw new CliUsageError('give one of --serial or --ble')
        if (o.ble !== undefined) {
          const code = o.code ?? io.env.OPG_SETUP_CODE
          if (!code) throw new CliUsageError('--ble needs the setup code: --code or OPG_SETUP_CODE')
          if (!io.pushBle) throw new ProvisionError('transfer_failed', 'BLE transfer is not available here')
          const progress = startProgress(output, 'push')
          progress.step(`sending ${dir} over BLE to OPGS ${o.ble}`)
          await io.pushBle(o.ble, code, dir).finally(() => progress.finish())
          io.stdout(`bundle ${dir} installed on OPGS ${o.ble} over BLE`)
          return 0
        }
        if (!io.push) throw new ProvisionError('transfer_failed', 'serial transfer is not available here')
        const baud = Number(o.baud)
        if (!Number.isInteger(baud) || baud <= 0) throw new CliUsageError('--baud takes a whole number')
        const progress = startProgress(output, 'push')
        progress.step(`sending ${dir} over ${o.serial}`)
        await io.push(o.serial!, dir, baud).finally(() => progress.finish())
        io.stdout(`bundle ${dir} sent over ${o.serial}`)
        return 0
      }),
    )

  return runProgram(program, argv, output, describe)
}

function describe(err: unknown): CliFailure | undefined {
  if (err instanceof ProvisionError) {
    return { code: err.code, message: err.message.replace(`${err.code}: `, '') }
  }
  return undefined
}
