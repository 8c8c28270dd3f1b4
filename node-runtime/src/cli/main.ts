/**
 * The `opg-node` command. `status`, `sync` and `scan` talk to a running node over its control socket; with
 * none running they open the vault themselves (never a new one beside the box's own: see context.ts). Each
 * subcommand lives in its own file; a new one is an `add…Command(program, cli)` line below.
 * Exit codes: 0 ok, 1 refused (a payment rejected, a failure), 2 usage, 78 config or keys.
 */

import { createRequire } from 'node:module'
import { type CliFailure, createProgram, EXIT, EXIT_HELP, runProgram } from '@opg/protocol/cli'
import { ConfigError } from '../config/load.js'
import { addCheckCommands } from './check-command.js'
import { type CliIo, DEFAULT_CONFIG, NodeCli, NodeCliError } from './context.js'
import { addReceiveCommand } from './receive.js'
import { addScanCommand } from './scan.js'
import { addStartCommand } from './start.js'
import { addStatusCommands } from './status.js'

export type { CliIo } from './context.js'

/** The package's version, as `--version` prints it. */
const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version

export { EXIT } from '@opg/protocol/cli'

/** Run the command line; returns the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const cli = new NodeCli(io)
  const program = createProgram(
    {
      name: 'opg-node',
      description:
        'the opg merchant box: take payments offline, keep them in the vault, sync with the bridge',
      version: VERSION,
      epilog: `The config file is --config, else OPG_CONFIG, else ${DEFAULT_CONFIG}; OPG_* variables override its
settings (see device-config/README.md). Amounts read as money (12.50 EUR); JSON keeps minor units.

${EXIT_HELP}`,
    },
    cli.output,
  )
  program.option('-c, --config <file>', 'the box config file (env OPG_CONFIG)')
  addStartCommand(program, cli)
  addScanCommand(program, cli)
  addStatusCommands(program, cli)
  addCheckCommands(program, cli)
  addReceiveCommand(program, cli)
  return runProgram(program, argv, cli.output, describe)
}

function describe(err: unknown): CliFailure | undefined {
  if (err instanceof ConfigError) {
    return { code: err.code, message: err.problems.join('; '), exit: EXIT.config }
  }
  if (err instanceof NodeCliError) return { code: err.code, message: err.message, exit: err.exit }
  return undefined
}
