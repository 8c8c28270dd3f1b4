/**
 * The `opg-wallet` command: a customer wallet kept encrypted in a directory, paying merchant boxes offline by
 * QR code (or BLE) and syncing with the bridge when online. `runCli` takes its I/O as arguments, so tests run
 * the real command in-process or as a child process alike. Each group of subcommands lives in commands/; a new
 * subcommand is one `subcommand(...)` call there.
 */
import { MoneyError } from '@opg/protocol'
import { type CliFailure, createProgram, EXIT_HELP, jsonOption, runProgram } from '@opg/protocol/cli'
import { isWalletError } from '../core/errors.js'
import { addFundsCommands } from './commands/funds.js'
import { addPayCommands } from './commands/pay.js'
import { addRecordCommands } from './commands/records.js'
import { addSetupCommands } from './commands/setup.js'
import { ENV_HELP } from './config.js'
import { type CliIo, WalletCli } from './context.js'
import { VERSION } from './version.js'

export type { CliIo } from './context.js'

/** Run the CLI; resolves to the process exit code (0 ok, 1 refused/failed, 2 usage). */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const cli = new WalletCli(io)
  const program = createProgram(
    {
      name: 'opg-wallet',
      description: 'an opg customer wallet on the command line: pay merchant boxes offline, sync when online',
      version: VERSION,
      epilog: `${ENV_HELP}\n\n${EXIT_HELP}`,
    },
    cli.output,
  )
  program
    .option('--dir <dir>', 'state directory (env OPG_WALLET_DIR)')
    .option('--key-file <file>', '16-byte key file for the encrypted state (env OPG_WALLET_KEY_FILE)')
    .option('--bridge <url>', 'bridge base URL (env OPG_BRIDGE_URL)')
    .option('--api-key <key>', "the wallet's API key (env OPG_WALLET_API_KEY)")
    .option('--operator-key <key>', 'operator key for register / top-up (env OPG_OPERATOR_KEY)')
    .addOption(jsonOption())
  addSetupCommands(program, cli)
  addFundsCommands(program, cli)
  addPayCommands(program, cli)
  addRecordCommands(program, cli)
  return runProgram(program, argv, cli.output, describe)
}

/** The wallet's typed errors as one line: `error bridge (invalid_request): … (hint)`. */
function describe(err: unknown): CliFailure | undefined {
  if (err instanceof MoneyError) return { code: err.code, message: err.message, exit: 2 }
  if (isWalletError(err)) {
    return { code: err.remoteCode ? `${err.code} (${err.remoteCode})` : err.code, message: err.message }
  }
  return undefined
}
