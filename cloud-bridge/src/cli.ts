/**
 * The `opg-bridge` command. Admin commands run beside the database (start, migrate, issuer, tenant, payouts);
 * operator commands talk to a running bridge's API (fleet, payments, holds, claims, refused, sms, tenants,
 * keys). Each group lives in its own file under cli/; a new subcommand is one `subcommand(...)` (or
 * `apiCommand(...)`) call there, and a new group one `add…Commands(program, cli)` line below.
 *
 * Configuration comes from the environment and OPG_CONFIG_FILE (see config.ts). Results go to stdout,
 * progress, warnings and errors to stderr; exit codes: 0 ok, 1 refused or failed, 2 usage.
 */
import { type CliFailure, createProgram, EXIT_HELP, runProgram } from '@opg/protocol/cli'
import { addBoxCommands } from './cli/box.js'
import { addBrokerConfigCommand } from './cli/broker-config.js'
import { ApiError, BridgeCli, type CliIo } from './cli/context.js'
import { addIssuerCommands } from './cli/issuer.js'
import { addOperatorCommands } from './cli/operator.js'
import { addPayoutCommands } from './cli/payouts.js'
import { addStartCommands } from './cli/start.js'
import { addTenantCommands } from './cli/tenant.js'
import { ConfigError } from './config.js'
import { VERSION } from './version.js'

export type { CliIo } from './cli/context.js'

const EPILOG = `Environment: DATABASE_URL (postgres://…, a PGlite directory, or memory:), OPG_MASTER_KEY_FILE,
OPG_CONFIG_FILE and the OPG_* settings of the bridge's README; the operator commands read OPG_BRIDGE_URL and
OPG_OPERATOR_KEY. Amounts read as money (12.50 EUR); JSON keeps integers in minor units (amountMinor).

${EXIT_HELP}`

/** Run the CLI; resolves with the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const cli = new BridgeCli(io)
  const program = createProgram(
    {
      name: 'opg-bridge',
      description: 'the opg cloud bridge: run it, administer its database, and watch it as an operator',
      version: VERSION,
      epilog: EPILOG,
    },
    cli.output,
  )
  program.commandsGroup('Run and administer (beside the database):')
  addStartCommands(program, cli)
  addIssuerCommands(program, cli)
  addTenantCommands(program, cli)
  addPayoutCommands(program, cli)
  addBrokerConfigCommand(program, cli)
  program.commandsGroup("Operate (through a running bridge's API):")
  addOperatorCommands(program, cli)
  addBoxCommands(program, cli)
  return runProgram(program, argv, cli.output, describe)
}

function describe(err: unknown): CliFailure | undefined {
  if (err instanceof ConfigError) return { code: err.code, message: err.message, exit: 78 }
  if (err instanceof ApiError) return { code: err.code, message: err.message }
  return undefined
}
