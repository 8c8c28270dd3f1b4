/**
 * The `opg-node` command:
 *   opg-node start  --config FILE [--sim]   run the box (acceptance, sync, control socket)
 *   opg-node scan   IMAGE [--config FILE]   decode a QR payment from an image file and accept it
 *   opg-node status [--config FILE] [--json] pending payments, last sync, online
 *   opg-node sync   [--config FILE] [--timeout S]  sync now, printing progress
 *   opg-node receive-provisioning --serial PATH --dir DIR [--baud N] [--timeout S]  take a bundle over serial
 * `status`, `sync` and `scan` talk to a running node over its control socket; with none running they open
 * the vault themselves. Exit codes: 0 ok, 1 failure, 2 payment rejected, 64 usage, 78 config or keys.
 */
import { parseArgs } from 'node:util'
import type { AcceptOutcome } from '../accept/acceptor.js'
import { QrAcceptLoop } from '../accept/qr-loop.js'
import { ConfigError, loadConfigFile } from '../config/load.js'
import type { NodeConfig } from '../config/schema.js'
import { loadSecrets, redactConfig } from '../config/secrets.js'
import {
  assertNotRunning,
  ControlError,
  ControlServer,
  controlRequest,
  controlSocketPath,
} from '../node/control.js'
import { createHardware } from '../node/hardware.js'
import { type OpenedNode, openNode } from '../node/open-node.js'
import { type NodeReport, nodeControlHandler } from '../node/opg-node.js'
import type { SyncProgress } from '../sync/sync-engine.js'
import { checkStorage, formatCheck } from './check.js'
import { formatOutcome, formatProgress, formatReport } from './format.js'
import { receiveProvisioning } from './provisioning-transfer.js'
import { createLogger, simSignal } from './runtime.js'

export interface CliIo {
  stdout: (line: string) => void
  stderr: (line: string) => void
  env: NodeJS.ProcessEnv
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM); `start` waits on it. */
  stopSignal?: Promise<void>
  /** Decode a QR code from an image file (the camera binding's decoder). */
  decodeImageFile?: (path: string) => Promise<string | undefined>
}

export const EXIT = { ok: 0, failed: 1, rejected: 2, usage: 64, config: 78 } as const

const USAGE = `usage: opg-node <start|scan|status|sync|check|repair|receive-provisioning> [options]
  start  --config FILE [--sim]      run the merchant box
  scan   IMAGE [--config FILE]      accept a QR payment from an image file
  status [--config FILE] [--json]   pending payments, last sync, online
  sync   [--config FILE] [--timeout SECONDS]   sync now with progress
  check  [--config FILE] [--json]   examine the vault and state offline (exit 1 if damaged)
  repair [--config FILE] [--json]   quarantine journal damage, rebuild a damaged state file
  receive-provisioning --serial PATH --dir DIR [--baud 115200] [--timeout SECONDS]
                                    take a provisioning bundle over the serial console`

/** Run the command line; returns the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (err) {
    io.stderr(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`)
    return EXIT.usage
  }
  const { command, values, positionals } = parsed
  const configPath = values.config ?? io.env.OPG_CONFIG ?? '/etc/opg/opg-node.json'
  try {
    switch (command) {
      case 'start':
        return await start(configPath, values.sim ?? false, io)
      case 'scan': {
        const image = positionals[0]
        if (!image) {
          io.stderr(`scan needs an IMAGE\n${USAGE}`)
          return EXIT.usage
        }
        return await scan(configPath, image, io)
      }
      case 'status':
        return await status(configPath, values.json ?? false, io)
      case 'sync':
        return await sync(configPath, Number(values.timeout ?? 120) * 1000, io)
      case 'check':
      case 'repair': {
        const { config, secrets } = await loadAll(configPath, io)
        const r = await checkStorage(config, secrets, command === 'repair')
        io.stdout(values.json ? JSON.stringify(r) : formatCheck(r))
        return r.healthy ? EXIT.ok : EXIT.failed
      }
      case 'receive-provisioning': {
        if (!values.serial || !values.dir) {
          io.stderr(`receive-provisioning needs --serial and --dir\n${USAGE}`)
          return EXIT.usage
        }
        await receiveProvisioning({
          path: values.serial,
          dir: values.dir,
          baudRate: Number(values.baud ?? 115200),
          timeoutMs: Number(values.timeout ?? 600) * 1000,
          stdout: io.stdout,
          ...(io.stopSignal ? { stopSignal: io.stopSignal } : {}),
        })
        return EXIT.ok
      }
      default:
        io.stderr(USAGE)
        return EXIT.usage
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr(`opg-node: ${err.code}\n${err.problems.map((p) => `  - ${p}`).join('\n')}`)
      return EXIT.config
    }
    io.stderr(`opg-node: ${err instanceof Error ? err.message : String(err)}`)
    return EXIT.failed
  }
}

function parse(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      sim: { type: 'boolean' },
      json: { type: 'boolean' },
      timeout: { type: 'string' },
      serial: { type: 'string' },
      dir: { type: 'string' },
      baud: { type: 'string' },
    },
  })
  const [command, ...rest] = positionals
  return { command, values, positionals: rest }
}

async function loadAll(configPath: string, io: CliIo, sim = false) {
  const { config, migrations } = await loadConfigFile(configPath, io.env)
  if (sim) config.hardware.mode = 'sim'
  const secrets = await loadSecrets(config)
  return { config, secrets, migrations }
}

async function start(configPath: string, sim: boolean, io: CliIo): Promise<number> {
  const { config, secrets, migrations } = await loadAll(configPath, io, sim)
  const log = createLogger(config, io)
  log.info({ config: redactConfig(config), migrations }, 'config loaded')
  for (const w of secrets.warnings) log.warn({}, w)
  // Two writers would corrupt the journal: refuse before opening anything.
  await assertNotRunning(controlSocketPath(config.dataDir))
  const hw = createHardware(config, (err) => log.warn({ err: String(err) }, 'hardware'))
  await hw.gpio.start()
  const opened = await openNode(config, secrets, {
    log,
    signal: config.hardware.mode === 'sim' ? simSignal(log) : hw.signal,
    ...(hw.ble ? { ble: hw.ble } : {}),
    modem: hw.modem,
    gpio: hw.gpio,
  }).catch(async (err) => {
    await hw.gpio.stop()
    throw err
  })
  const { node } = opened
  const control = new ControlServer(controlSocketPath(config.dataDir), nodeControlHandler(node))
  const qr =
    hw.camera && hw.scanner
      ? new QrAcceptLoop({
          camera: hw.camera,
          scanner: hw.scanner,
          acceptor: node,
          onOutcome: (out) => log.info({ ok: out.ok, ...(out.ok ? {} : { code: out.code }) }, 'QR payment'),
          onError: (err) => log.warn({ err: String(err) }, 'camera'),
        })
      : undefined
  node.sync.on('online', () => hw.online(true))
  node.sync.on('offline', () => hw.online(false))
  node.sync.on('progress', (p) => log.info({ ...p }, formatProgress(p)))
  try {
    await control.start()
    await node.start()
    await qr?.start()
    log.info({ socket: control.path, mode: config.hardware.mode }, 'opg-node running')
    await (io.stopSignal ?? new Promise<void>(() => {}))
    log.info({}, 'stopping')
  } finally {
    await qr?.stop().catch(() => {})
    await control.stop()
    await opened.close()
    await hw.gpio.stop()
  }
  return EXIT.ok
}

async function scan(configPath: string, image: string, io: CliIo): Promise<number> {
  const decode = io.decodeImageFile
  if (!decode) throw new Error('no QR decoder available in this build')
  const qrText = await decode(image)
  if (!qrText) {
    io.stderr(`no QR code found in ${image}`)
    return EXIT.failed
  }
  const { config, secrets } = await loadAll(configPath, io)
  const out = await viaNodeOr(
    config,
    (path) => controlRequest<AcceptOutcome>(path, { cmd: 'accept', qrText }),
    async (opened) => opened.node.accept({ qrText }),
    secrets,
  )
  io.stdout(formatOutcome(out))
  return out.ok ? EXIT.ok : EXIT.rejected
}

async function status(configPath: string, json: boolean, io: CliIo): Promise<number> {
  const { config, secrets } = await loadAll(configPath, io)
  const report = await viaNodeOr(
    config,
    (path) => controlRequest<NodeReport>(path, { cmd: 'status' }),
    async (opened) => opened.node.report(),
    secrets,
  )
  io.stdout(json ? JSON.stringify(report) : formatReport(report))
  return EXIT.ok
}

async function sync(configPath: string, timeoutMs: number, io: CliIo): Promise<number> {
  const { config, secrets } = await loadAll(configPath, io)
  const print = (e: Record<string, unknown>) => io.stdout(formatProgress(e as Partial<SyncProgress>))
  const result = await viaNodeOr(
    config,
    (path) => controlRequest<SyncProgress>(path, { cmd: 'sync', timeoutMs }, print),
    async (opened) => {
      opened.node.sync.on('progress', (p) => print({ ...p }))
      opened.node.sync.on('published', (p) => print({ published: p.count }))
      await opened.node.start()
      return opened.node.syncNow(timeoutMs)
    },
    secrets,
  )
  io.stdout(`synced: ${result.pendingCount} pending`)
  return EXIT.ok
}

/**
 * Ask the running node; when none runs, open the vault here. A node that is still starting holds the data
 * directory's lock before its socket answers: wait for it rather than fail.
 */
async function viaNodeOr<T>(
  config: NodeConfig,
  remote: (socketPath: string) => Promise<T>,
  local: (opened: OpenedNode) => Promise<T>,
  secrets: Awaited<ReturnType<typeof loadSecrets>>,
): Promise<T> {
  const deadline = Date.now() + 15_000
  for (;;) {
    try {
      return await remote(controlSocketPath(config.dataDir))
    } catch (err) {
      if (!(err instanceof ControlError) || err.code !== 'not_running') throw err
    }
    let opened: OpenedNode
    try {
      opened = await openNode(config, secrets)
    } catch (err) {
      if (err instanceof ControlError && err.code === 'already_running' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200))
        continue
      }
      throw err
    }
    try {
      return await local(opened)
    } finally {
      await opened.close()
    }
  }
}
