/** `opg-wallet sync`, `history`, `claim` and `log`: the signed log uploaded, payments as the bridge sees them, disputes. */
import { formatMoney } from '@opg/protocol'
import { action, startProgress, subcommand } from '@opg/protocol/cli'
import type { Command } from 'commander'
import { claim, history, sync } from '../../core/online.js'
import type { CliFlags } from '../config.js'
import { minorArg, type WalletCli, when } from '../context.js'

export function addRecordCommands(program: Command, cli: WalletCli): void {
  subcommand(program, 'sync', 'upload the signed log to the bridge', ['opg-wallet sync']).action(
    action(async (o: CliFlags) => {
      const cfg = cli.config(o)
      const wallet = await cli.open(cfg)
      const progress = startProgress(cli.output, 'sync', wallet.unsynced().length)
      progress.step(`uploading ${wallet.unsynced().length} payment(s)`)
      const r = await sync(wallet, cli.client(cfg, wallet))
      progress.finish()
      const lines = r.results.map(
        (x) => `${x.txId ?? '?'} ${x.outcome}${x.status ? ` ${x.status}` : ''}${x.code ? ` ${x.code}` : ''}`,
      )
      cli.print(cfg, [`uploaded ${r.uploaded} token(s)`, ...lines].join('\n'), r)
      return 0
    }),
  )

  subcommand(program, 'history', 'payments as the bridge sees them (held, confirmed, …)', [
    'opg-wallet history --limit 20',
  ])
    .option('--limit <n>', 'at most this many payments')
    .action(
      action(async (o: CliFlags & { limit?: string }) => {
        const cfg = cli.config(o)
        const wallet = await cli.open(cfg)
        const list = await history(
          wallet,
          cli.client(cfg, wallet),
          o.limit ? minorArg(o.limit, '--limit') : undefined,
        )
        const lines = list.map(
          (p) =>
            `${p.txId} ${formatMoney(p.amount, p.currency)} ${p.status}${p.holdUntil ? ` until ${when(p.holdUntil)}` : ''} merchant ${p.merchantId}`,
        )
        cli.print(cfg, lines.length ? lines.join('\n') : 'no payments yet', { payments: list })
        return 0
      }),
    )

  subcommand(program, 'claim <txid>', 'dispute a payment (an operator decides)', [
    "opg-wallet claim 0193… --reason 'I never paid at this shop'",
  ])
    .option('--reason <text>', 'why', 'disputed by the payer')
    .action(
      action(async (txId: string, o: CliFlags & { reason: string }) => {
        const cfg = cli.config(o)
        const wallet = await cli.open(cfg)
        const c = await claim(wallet, cli.client(cfg, wallet), txId, o.reason)
        cli.print(cfg, `claim ${c.id} on ${c.txId}: ${c.status}`, c)
        return 0
      }),
    )

  subcommand(program, 'log', "the wallet's own signed log (works offline)", ['opg-wallet log']).action(
    action(async (o: CliFlags) => {
      const cfg = cli.config(o)
      const wallet = await cli.open(cfg)
      const lines = wallet
        .log()
        .map(
          (e) =>
            `${e.txId} #${e.counter} ${formatMoney(e.amount, e.currency)} to ${e.merchantName} ${e.syncedAt ? (e.syncOutcome ?? 'synced') : 'not synced'}`,
        )
      cli.print(cfg, lines.length ? lines.join('\n') : 'no payments yet', { log: wallet.log() })
      return 0
    }),
  )
}
