/** `opg-node status` and `sync`: what the box holds and when it last synced; sync now, with progress. */
import { action, jsonOption, startProgress, subcommand } from '@opg/protocol/cli'
import type { Command } from 'commander'
import { controlRequest } from '../node/control.js'
import type { NodeReport } from '../node/opg-node.js'
import type { SyncProgress } from '../sync/sync-engine.js'
import type { NodeCli } from './context.js'
import { amounts, formatReport } from './format.js'

export function addStatusCommands(program: Command, cli: NodeCli): void {
  subcommand(program, 'status', 'pending payments (not yet at the bridge), last sync, online, clock', [
    'opg-node status',
    'opg-node status --json',
  ])
    .addOption(jsonOption())
    .action(
      action(async (o: { config?: string; json?: boolean }) => {
        const configPath = cli.configPath(o)
        const { config, secrets } = await cli.load(configPath)
        const report = await cli.viaNodeOr(
          configPath,
          config,
          secrets,
          (path) => controlRequest<NodeReport>(path, { cmd: 'status' }),
          async (opened) => opened.node.report(),
        )
        // JSON: amounts stay integers in minor units (pendingAmount is minor units by currency).
        cli.output.out(o.json ? JSON.stringify(report) : formatReport(report))
        return 0
      }),
    )

  subcommand(program, 'sync', 'send pending payments to the bridge now and wait for its acknowledgements', [
    'opg-node sync --timeout 60',
  ])
    .option('--timeout <seconds>', 'give up after this long', '120')
    .action(
      action(async (o: { config?: string; timeout: string }) => {
        const timeoutMs = Number(o.timeout) * 1000
        const configPath = cli.configPath(o)
        const { config, secrets } = await cli.load(configPath)
        const progress = startProgress(cli.output, 'sync')
        const print = (e: Record<string, unknown>) => {
          const p = e as Partial<SyncProgress> & { published?: number }
          if (p.published !== undefined) return progress.step(`published a batch of ${p.published}`)
          const done = p.ackedTotal ?? 0
          progress.update(
            done,
            `${p.pendingCount ?? 0} pending${p.pendingAmount ? ` (${amounts(p.pendingAmount)})` : ''}`,
            done + (p.pendingCount ?? 0),
          )
        }
        const result = await cli.viaNodeOr(
          configPath,
          config,
          secrets,
          (path) => controlRequest<SyncProgress>(path, { cmd: 'sync', timeoutMs }, print),
          async (opened) => {
            opened.node.sync.on('progress', (p) => print({ ...p }))
            opened.node.sync.on('published', (p) => print({ published: p.count }))
            await opened.node.start()
            return opened.node.syncNow(timeoutMs)
          },
        )
        progress.finish()
        cli.output.out(`synced: ${result.pendingCount} pending`)
        return 0
      }),
    )
}
