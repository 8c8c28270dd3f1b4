/** `opg-bridge payouts build | list | paid`: batches of what is due to merchants' bank accounts. */
import { formatMoney } from '@opg/protocol'
import { action, jsonOption, startProgress, subcommand } from '@opg/protocol/cli'
import type { Command } from 'commander'
import { buildPayout } from '../online/payout-build.js'
import { listPayouts, markPayoutPaid, type Payout } from '../online/payouts.js'
import type { BridgeCli } from './context.js'

export function addPayoutCommands(program: Command, cli: BridgeCli): void {
  const payouts = program
    .command('payouts')
    .description(
      "batches of what is due to merchants' bank accounts: settled invoice payments and released offline and QR money (needs the database)",
    )

  subcommand(
    payouts,
    'build <tenant> <currency>',
    'batch what is due to merchant banks (one line per merchant)',
    ['opg-bridge payouts build Acme EUR'],
  )
    .addOption(jsonOption())
    .action(
      action(async (tenant: string, currency: string, o: { json?: boolean }) =>
        cli.withDb({ writes: true }, async (db) => {
          const t = await cli.tenant(db, tenant)
          const progress = startProgress(cli.output, 'payouts')
          progress.step(`collecting settled ${currency} payments of ${t.name}`)
          const p = await buildPayout(db, t.id, currency, { testMode: cli.config.mode === 'test' })
          progress.finish(p ? `batch ${p.id}: ${p.lines.length} merchant(s)` : undefined)
          if (o.json) cli.output.out(JSON.stringify({ payout: p && payoutJson(p) }))
          else if (!p) cli.output.out(`nothing due in ${currency}`)
          else printPayout(cli, p)
          return 0
        }),
      ),
    )

  subcommand(payouts, 'list <tenant>', "the tenant's payout batches (tenant by name or id)", [
    'opg-bridge payouts list Acme',
    'opg-bridge payouts list 0193a2b4c5d6e7f8 --json',
  ])
    .addOption(jsonOption())
    .action(
      action(async (tenant: string, o: { json?: boolean }) =>
        cli.withDb({ writes: false }, async (db) => {
          const list = await listPayouts(db, (await cli.tenant(db, tenant)).id)
          if (o.json) cli.output.out(JSON.stringify({ payouts: list.map(payoutJson) }))
          else if (list.length === 0) cli.output.out('no payouts yet')
          else for (const p of list) printPayout(cli, p)
          return 0
        }),
      ),
    )

  subcommand(payouts, 'paid <tenant> <payout-id>', 'the bank confirmed a batch: settle it in the ledger', [
    'opg-bridge payouts paid Acme 0193…',
  ]).action(
    action(async (tenant: string, payoutId: string) =>
      cli.withDb({ writes: true }, async (db) => {
        printPayout(cli, await markPayoutPaid(db, (await cli.tenant(db, tenant)).id, payoutId, new Date()))
        return 0
      }),
    ),
  )
}

/** A payout as JSON: amounts as integers in minor units (`amountMinor`). */
export function payoutJson(p: Payout) {
  return {
    id: p.id,
    batchKey: p.batchKey,
    testMode: p.testMode,
    currency: p.currency,
    status: p.status,
    createdAt: p.createdAt.toISOString(),
    paidAt: p.paidAt?.toISOString() ?? null,
    lines: p.lines.map((l) => ({
      merchantId: l.merchantId,
      amountMinor: Number(l.amount),
      invoiceMinor: Number(l.invoiceAmount),
      walletMinor: Number(l.walletAmount),
      bankAccountRef: l.bankAccountRef,
      paymentIds: l.paymentIds,
    })),
  }
}

/** A payout for a person: one line for the batch, one per merchant. */
export function formatPayout(p: Payout): string[] {
  const total = p.lines.reduce((s, l) => s + l.amount, 0n)
  return [
    `payout ${p.id}${p.testMode ? ' (test money)' : ''} ${formatMoney(total, p.currency)} ${p.status}${p.paidAt ? ` ${p.paidAt.toISOString()}` : ''}`,
    ...p.lines.map(
      (l) =>
        `  merchant ${l.merchantId} ${formatMoney(l.amount, p.currency)} (invoices ${formatMoney(l.invoiceAmount, p.currency)}, released offline/QR ${formatMoney(l.walletAmount, p.currency)}) to ${l.bankAccountRef ?? '(no bank account)'}: ${l.paymentIds.join(' ')}`,
    ),
  ]
}

function printPayout(cli: BridgeCli, p: Payout): void {
  for (const line of formatPayout(p)) cli.output.out(line)
}
