/**
 * `opg-node receive-provisioning`: take a provisioning bundle over the serial console or, while the box has no
 * bundle, over BLE (the technician's push).
 */
import { action, CliUsageError, subcommand } from '@opg/protocol/cli'
import type { Command } from 'commander'
import { receiveOverBle } from './ble-provisioning.js'
import type { NodeCli } from './context.js'
import { receiveProvisioning } from './provisioning-transfer.js'

export function addReceiveCommand(program: Command, cli: NodeCli): void {
  subcommand(program, 'receive-provisioning', 'take a provisioning bundle over the serial console or BLE', [
    'opg-node receive-provisioning --serial /dev/ttyGS0 --dir /boot/opg',
    'opg-node receive-provisioning --ble --dir /boot/opg',
  ])
    .option('--serial <path>', 'the serial device')
    .option('--ble', "offer the BLE provisioning service (needs the image's setup-code.json in --dir)")
    .requiredOption('--dir <dir>', 'where the bundle files go')
    .option('--baud <n>', 'baud rate', '115200')
    .option(
      '--timeout <seconds>',
      'give up after this long (serial: waiting for the transfer or its next frame; BLE: without a bundle installed)',
      '600',
    )
    .action(
      action(async (o: { serial?: string; ble?: boolean; dir: string; baud: string; timeout: string }) => {
        if ((o.serial === undefined) === !o.ble) throw new CliUsageError('give one of --serial or --ble')
        const timeout = Number(o.timeout)
        if (!Number.isFinite(timeout) || timeout <= 0) throw new CliUsageError('--timeout takes seconds')
        if (o.ble) {
          const { BlenoBleBinding } = await import('../bindings/ble/index.js')
          await receiveOverBle({
            dir: o.dir,
            binding: (options) => new BlenoBleBinding(options),
            timeoutMs: timeout * 1000,
            stdout: cli.output.out,
            ...(cli.io.stopSignal ? { stopSignal: cli.io.stopSignal } : {}),
          })
          return 0
        }
        const baudRate = Number(o.baud)
        if (!Number.isInteger(baudRate) || baudRate <= 0)
          throw new CliUsageError('--baud takes a whole number')
        await receiveProvisioning({
          path: o.serial!,
          dir: o.dir,
          baudRate,
          timeoutMs: timeout * 1000,
          stdout: cli.output.out,
          ...(cli.io.stopSignal ? { stopSignal: cli.io.stopSignal } : {}),
        })
        return 0
      }),
    )
}
