/** `opg-node check` and `repair`: examine, or mend, the vault and the state file offline (see check.ts). */
import { action, jsonOption, subcommand } from '@opg/protocol/cli'
import type { Command } from 'commander'
import { checkStorage, formatCheck } from './check.js'
import type { NodeCli } from './context.js'

export function addCheckCommands(program: Command, cli: NodeCli): void {
  for (const [name, repair, what, example] of [
    [
      'check',
      false,
      'examine the vault and state offline, change nothing (exit 1: damage found)',
      'opg-node check',
    ],
    [
      'repair',
      true,
      'quarantine damaged journal bytes and rebuild a damaged state file, offline (what start does by itself)',
      'opg-node repair --json',
    ],
  ] as const) {
    subcommand(program, name, what, [example])
      .addOption(jsonOption())
      .action(
        action(async (o: { config?: string; json?: boolean }) => {
          const { config, secrets } = await cli.load(cli.configPath(o))
          const r = await checkStorage(config, secrets, repair)
          cli.output.out(o.json ? JSON.stringify(r) : formatCheck(r))
          return r.healthy ? 0 : 1
        }),
      )
  }
}
