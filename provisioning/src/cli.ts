/**
 * The `opg-provision` command:
 *   enrol   --bridge URL --operator-key KEY (--merchant-id ID | --merchant-name NAME) --label L --out DIR
 *           --mqtt-url URL [--box-dir /boot/opg] [--modem-number +E164]
 *   sticker DIR (--png FILE | --svg FILE | --terminal)
 *   verify  --bridge URL --operator-key KEY --device ID [--timeout 60]
 *   push    --serial PATH DIR [--baud 115200]
 * Keys may also come from the environment (OPG_OPERATOR_KEY) so they stay out of shell history.
 * Exit codes: 0 ok, 1 failure, 64 usage.
 */
import { writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { type CryptoBackend, deviceTag } from '@opg/protocol'
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
}

export const EXIT = { ok: 0, failed: 1, usage: 64 } as const

export const USAGE = `usage: opg-provision <enrol|sticker|verify|push> [options]
  enrol   --bridge URL --operator-key KEY (--merchant-id ID | --merchant-name NAME) --label LABEL
          --out DIR --mqtt-url URL [--box-dir /boot/opg] [--modem-number +E164]
  sticker DIR (--png FILE | --svg FILE | --terminal)
  verify  --bridge URL --operator-key KEY --device ID [--timeout SECONDS]
  push    --serial PATH DIR [--baud 115200]
OPG_OPERATOR_KEY may stand in for --operator-key.`

class UsageError extends Error {}

/** Run the command line; returns the exit code. */
export async function runProvisionCli(argv: string[], io: ProvisionIo): Promise<number> {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (err) {
    io.stderr(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`)
    return EXIT.usage
  }
  const { values: v, positionals } = parsed
  const command = positionals[0]
  const need = (name: keyof typeof v): string => {
    const value = v[name] ?? (name === 'operator-key' ? io.env.OPG_OPERATOR_KEY : undefined)
    if (typeof value !== 'string' || value === '') throw new UsageError(`${command} needs --${name}`)
    return value
  }
  try {
    switch (command) {
      case 'enrol': {
        if (Boolean(v['merchant-id']) === Boolean(v['merchant-name'])) {
          throw new UsageError('enrol needs one of --merchant-id and --merchant-name')
        }
        const r = await enrolBox({
          c: io.c,
          bridge: new BridgeClient(need('bridge'), need('operator-key')),
          merchant: v['merchant-id'] ? { id: v['merchant-id'] } : { name: need('merchant-name') },
          label: need('label'),
          out: need('out'),
          mqttUrl: need('mqtt-url'),
          boxDir: v['box-dir'] ?? '/boot/opg',
          ...(v['modem-number'] ? { modemNumber: v['modem-number'] } : {}),
        })
        io.stdout(`enrolled box ${r.deviceId} (tag ${deviceTag(r.deviceId)}) for ${r.merchantName}`)
        io.stdout(`tenant ${r.tenantId}, merchant ${r.merchantId}`)
        io.stdout(
          `bundle written to ${r.dir}: ${r.manifest.files.map((f) => f.name).join(', ')}, manifest.json`,
        )
        if (r.merchantKey) io.stdout(`merchant API key (shown once): ${r.merchantKey}`)
        io.stdout(`device API key (shown once): ${r.deviceKey}`)
        if (r.manifest.modemNumber) {
          io.stdout(
            `modem number ${r.manifest.modemNumber} is in the manifest; the bridge has no route for it yet`,
          )
        }
        return EXIT.ok
      }
      case 'sticker': {
        const dir = positionals[1]
        if (!dir) throw new UsageError('sticker needs the bundle DIR')
        const targets = [v.png, v.svg, v.terminal].filter(Boolean).length
        if (targets !== 1) throw new UsageError('sticker needs exactly one of --png, --svg, --terminal')
        const s = await stickerFromBundle(dir)
        if (v.png) await writeFile(v.png, renderStickerPng(s))
        else if (v.svg) await writeFile(v.svg, renderStickerSvg(s))
        else io.stdout(await renderStickerTerminal(s))
        if (!v.terminal) io.stdout(`sticker for ${s.merchantName}, box ${s.tag} written to ${v.png ?? v.svg}`)
        return EXIT.ok
      }
      case 'verify': {
        const timeout = Number(v.timeout ?? 60)
        if (!Number.isFinite(timeout) || timeout < 0) throw new UsageError('--timeout takes seconds')
        const device = await waitOnline(
          new BridgeClient(need('bridge'), need('operator-key')),
          need('device'),
          {
            timeoutMs: timeout * 1000,
          },
        ).catch((err) => {
          if (err instanceof ProvisionError && err.code === 'not_online') io.stdout(err.message)
          throw err
        })
        io.stdout(formatDevice(device))
        return EXIT.ok
      }
      case 'push': {
        const dir = positionals[1]
        if (!dir) throw new UsageError('push needs the bundle DIR')
        if (!io.push) throw new ProvisionError('transfer_failed', 'serial transfer is not available here')
        await io.push(need('serial'), dir, Number(v.baud ?? 115200))
        io.stdout(`bundle ${dir} sent over ${v.serial}`)
        return EXIT.ok
      }
      default:
        throw new UsageError(command ? `unknown command ${command}` : 'no command')
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`${err.message}\n${USAGE}`)
      return EXIT.usage
    }
    if (err instanceof ProvisionError) {
      io.stderr(err.message)
      return EXIT.failed
    }
    io.stderr(`failed: ${err instanceof Error ? err.message : String(err)}`)
    return EXIT.failed
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      bridge: { type: 'string' },
      'operator-key': { type: 'string' },
      'merchant-id': { type: 'string' },
      'merchant-name': { type: 'string' },
      label: { type: 'string' },
      out: { type: 'string' },
      'mqtt-url': { type: 'string' },
      'box-dir': { type: 'string' },
      'modem-number': { type: 'string' },
      png: { type: 'string' },
      svg: { type: 'string' },
      terminal: { type: 'boolean' },
      device: { type: 'string' },
      timeout: { type: 'string' },
      serial: { type: 'string' },
      baud: { type: 'string' },
    },
  })
}
