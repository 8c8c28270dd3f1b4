/** `opg-node start`: run the box (acceptance, sync, control socket) until SIGINT/SIGTERM. */
import { action, subcommand } from '@opg/protocol/cli'
import type { Command } from 'commander'
import { QrAcceptLoop } from '../accept/qr-loop.js'
import { redactConfig } from '../config/secrets.js'
import { assertNotRunning, ControlServer, controlSocketPath } from '../node/control.js'
import { createHardware } from '../node/hardware.js'
import { openNode } from '../node/open-node.js'
import { nodeControlHandler } from '../node/opg-node.js'
import type { NodeCli } from './context.js'
import { formatProgress } from './format.js'
import { createLogger, simSignal } from './runtime.js'

export function addStartCommand(program: Command, cli: NodeCli): void {
  subcommand(
    program,
    'start',
    'run the merchant box: take payments, sync with the bridge, answer the control socket',
    ['opg-node start --config /etc/opg/opg-node.json', 'opg-node start --config box/opg-node.json --sim'],
  )
    .option('--sim', 'simulated hardware (LED and buzzer as log lines)')
    .action(
      action(async (o: { config?: string; sim?: boolean }) => {
        const { config, secrets, migrations } = await cli.load(cli.configPath(o), o.sim === true)
        const log = createLogger(config, cli.io)
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
                // The warm camera paces the loop: capture() waits for the next streamed frame.
                idleMs: 0,
                onOutcome: (out) =>
                  log.info({ ok: out.ok, ...(out.ok ? {} : { code: out.code }) }, 'QR payment'),
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
          log.info(
            { socket: control.path, mode: config.hardware.mode, dataDir: config.dataDir },
            'opg-node running',
          )
          // One full collection now that the vault's replay is done: its garbage (decrypted segments, decoded
          // seals) would otherwise stay resident until allocation next drives a collection, which on an idle box
          // may be hours. Only when Node runs with --expose-gc, as the systemd unit does.
          ;(globalThis as { gc?: () => void }).gc?.()
          await (cli.io.stopSignal ?? new Promise<void>(() => {}))
          log.info({}, 'stopping')
        } finally {
          await qr?.stop().catch(() => {})
          await control.stop()
          await opened.close()
          await hw.gpio.stop()
        }
        return 0
      }),
    )
}
