/** `opg-node receive-provisioning`: take a provisioning bundle over the serial console (the technician's push). */
import { action, CliUsageError, subcommand } from '@opg/protocol/cli'
import type { Command } from 'commander'
import type { NodeCli } from './context.js'
import { receiveProvisioning } from './provisioning-transfer.js'

export function addReceiveCommand(program: Command, cli: NodeCli): void {
  subcommand(program, 'receive-provisioning', 'take a provisioning bundle over the serial console', [
    'opg-node receive-provisioning --serial /dev/ttyGS0 --dir /boot/opg',
  ])
    .requiredOption('--serial <path>', 'the serial device')
    .requiredOption('--dir <dir>', 'where the bundle files go')
    .option('--baud <n>', 'baud rate', '115200')
    .option('--timeout <seconds>', 'give up after this long', '600')
    .action(
      action(async (o: { serial: string; dir: string; baud: string; timeout: string }) => {
        const baudRate = Number(o.baud)
        const timeout = Number(o.timeout)
        if (!Number.isInteger(baudRate) || baudRate <= 0)
          throw new CliUsageError('--baud takes a whole number')
        if (!Number.isFinite(timeout) || timeout <= 0) throw new CliUsageError('--timeout takes seconds')
        await receiveProvisioning({
          path: o.serial,
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
