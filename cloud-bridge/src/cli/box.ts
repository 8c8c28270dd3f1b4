/**
 * `opg-bridge box …`: an operator's commands to one box through the running bridge's API — sync now, a config
 * override (exposure limits typed as money in the tenant's currency), revoke. The same routes the console's box
 * page uses; every one is audited with the operator key that sent it.
 */
import { parseMoney } from '@opg/protocol'
import { action, CliUsageError } from '@opg/protocol/cli'
import { type Command, Option } from 'commander'
import type { ApiFlags, BridgeCli } from './context.js'
import { apiCommand } from './operator.js'

interface CommandResult {
  deviceId: string
  type: string
  sent: boolean
  online: boolean
}

const sentText = (r: CommandResult, what: string): string =>
  !r.sent
    ? `${what} for box ${r.deviceId} was not taken by the broker: try again`
    : r.online
      ? `${what} sent to box ${r.deviceId} (online)`
      : `${what} queued for box ${r.deviceId} (offline: it gets it when it reconnects)`

export function addBoxCommands(program: Command, cli: BridgeCli): void {
  const box = program.command('box').description('commands to one box: sync now, config override, revoke')

  apiCommand(box, 'sync-now <device-id>', 'ask the box to publish its pending payments and status now', [
    'opg-bridge box sync-now 00000000000000d1',
  ]).action(
    action(async (deviceId: string, o: ApiFlags) => {
      const r = await cli.api<CommandResult>(o, 'POST', `v1/devices/${encodeURIComponent(deviceId)}/sync-now`)
      cli.output.out(o.json ? JSON.stringify(r) : sentText(r, 'sync now'))
      return 0
    }),
  )

  apiCommand(
    box,
    'config <device-id>',
    "override part of the box's config; it applies the override at its next start",
    [
      'opg-bridge box config 00000000000000d1 --max-unsynced 500.00 --max-per-wallet-day 50',
      'opg-bridge box config 00000000000000d1 --log-level debug',
    ],
  )
    .option('--max-unsynced <amount>', 'most money taken offline and not yet synced, in the tenant currency')
    .option('--max-per-wallet-day <amount>', 'most one payer may pay the box per day, in the tenant currency')
    .addOption(
      new Option('--log-level <level>', 'log level').choices([
        'fatal',
        'error',
        'warn',
        'info',
        'debug',
        'trace',
      ]),
    )
    .action(
      action(
        async (
          deviceId: string,
          o: ApiFlags & { maxUnsynced?: string; maxPerWalletDay?: string; logLevel?: string },
        ) => {
          if (o.maxUnsynced === undefined && o.maxPerWalletDay === undefined && o.logLevel === undefined)
            throw new CliUsageError(
              'nothing to change: give --max-unsynced, --max-per-wallet-day or --log-level',
            )
          const config: Record<string, Record<string, unknown>> = {}
          if (o.maxUnsynced !== undefined || o.maxPerWalletDay !== undefined) {
            const { currency } = await cli.api<{ currency: string }>(o, 'GET', 'v1/tenant')
            const amount = (flag: string, text: string) => {
              try {
                return parseMoney(text, currency, { allowZero: true })
              } catch (err) {
                throw new CliUsageError(`${flag}: ${(err as Error).message}`)
              }
            }
            config.exposure = {
              ...(o.maxUnsynced !== undefined
                ? { maxUnsyncedTotal: amount('--max-unsynced', o.maxUnsynced) }
                : {}),
              ...(o.maxPerWalletDay !== undefined
                ? { maxPerWalletPerDay: amount('--max-per-wallet-day', o.maxPerWalletDay) }
                : {}),
            }
          }
          if (o.logLevel !== undefined) config.log = { level: o.logLevel }
          const r = await cli.api<CommandResult>(
            o,
            'POST',
            `v1/devices/${encodeURIComponent(deviceId)}/config`,
            {
              config,
            },
          )
          cli.output.out(o.json ? JSON.stringify(r) : sentText(r, 'config override'))
          return 0
        },
      ),
    )

  apiCommand(box, 'revoke <device-id>', 'revoke the box: its payments are refused from now on and kept', [
    "opg-bridge box revoke 00000000000000d1 --reason 'stolen from the market'",
  ])
    .addOption(new Option('--reason <text>', 'why (kept in the audit log)').makeOptionMandatory())
    .action(
      action(async (deviceId: string, o: ApiFlags & { reason: string }) => {
        const r = await cli.api<{ deviceId: string; revokedAt: string; changed: boolean }>(
          o,
          'POST',
          `v1/devices/${encodeURIComponent(deviceId)}/revoke`,
          { reason: o.reason },
        )
        cli.output.out(
          o.json
            ? JSON.stringify(r)
            : r.changed
              ? `box ${r.deviceId} revoked at ${r.revokedAt}`
              : `box ${r.deviceId} was already revoked (at ${r.revokedAt})`,
        )
        return 0
      }),
    )
}
