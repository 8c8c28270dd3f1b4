/** `opg-wallet top-up`, `load-purse` and `balance`: money onto the wallet, into an offline purse, and what is left. */
import { formatMoney, uuidv7 } from '@opg/protocol'
import { action, subcommand } from '@opg/protocol/cli'
import { nodeBackend } from '@opg/protocol/node'
import type { Command } from 'commander'
import { isWalletError, WalletError } from '../../core/errors.js'
import { loadPurse } from '../../core/online.js'
import { topUpByCard } from '../../core/online-payments.js'
import type { CliFlags } from '../config.js'
import { amountArg, minorArg, type WalletCli, when } from '../context.js'

const MINOR = '--minor'
const MINOR_HELP = 'amounts are whole minor units (1250 for 12.50 EUR) instead of decimal money'

export function addFundsCommands(program: Command, cli: WalletCli): void {
  subcommand(program, 'top-up <amount>', 'credit the online balance: by card, or from the operator side', [
    'opg-wallet top-up 50.00 --card tok_visa',
    'opg-wallet top-up 50 --ref "cash at the counter" --operator-key opg_…',
  ])
    .option('--card <token>', "pay by card: the payment provider's card token (e.g. tok_visa)")
    .option('--ref <text>', 'reference of an operator top-up')
    .option(MINOR, MINOR_HELP)
    .action(
      action(async (text: string, o: CliFlags & { card?: string; ref?: string; minor?: boolean }) => {
        const cfg = cli.config(o)
        const wallet = await cli.open(cfg)
        if (!wallet.walletId) throw new WalletError('no_wallet', 'register the wallet first')
        if (o.card) {
          const me = cli.client(cfg, wallet)
          const currency = (await me.tenant()).currency
          const pay = await topUpByCard(me, wallet.walletId, {
            amount: amountArg(text, currency, o.minor === true),
            currency,
            cardToken: o.card,
            idempotencyKey: uuidv7(nodeBackend),
          })
          cli.print(
            cfg,
            `topped up ${formatMoney(pay.amount, pay.currency)} by ${pay.method} card: ${pay.status}`,
            pay,
          )
          return 0
        }
        const operator = cli.operator(cfg)
        const currency = (await operator.tenant()).currency
        const b = await operator.topUp(wallet.walletId, {
          amount: amountArg(text, currency, o.minor === true),
          ref: o.ref ?? `cli-${Date.now()}`,
        })
        cli.print(
          cfg,
          `available ${formatMoney(b.available, b.currency)}, in purses ${formatMoney(b.escrow, b.currency)}`,
          b,
        )
        return 0
      }),
    )

  subcommand(
    program,
    'load-purse <amount>',
    'escrow an amount into an offline purse (online); --replace swaps a live purse, whose leftover returns to the balance when it expires',
    ['opg-wallet load-purse 20.00', 'opg-wallet load-purse 50 --limit 10 --ttl 86400'],
  )
    .option('--limit <amount>', 'largest single payment from the purse (default: the whole purse)')
    .option('--ttl <seconds>', 'how long the purse stays valid (the bridge allows 60 s to 72 h)')
    .option('--replace', 'replace a purse that is still valid')
    .option(MINOR, MINOR_HELP)
    .action(
      action(
        async (
          text: string,
          o: CliFlags & { limit?: string; ttl?: string; replace?: boolean; minor?: boolean },
        ) => {
          const cfg = cli.config(o)
          const wallet = await cli.open(cfg)
          const me = cli.client(cfg, wallet)
          const currency = (await me.tenant()).currency
          const minor = o.minor === true
          const p = await loadPurse(wallet, me, {
            amount: amountArg(text, currency, minor),
            ...(o.limit ? { perPaymentLimit: amountArg(o.limit, currency, minor) } : {}),
            ...(o.ttl ? { ttlSeconds: minorArg(o.ttl, '--ttl') } : {}),
            ...(o.replace ? { replace: true } : {}),
          })
          cli.print(
            cfg,
            `offline purse ${formatMoney(p.remaining, p.currency)} (limit ${formatMoney(p.perPaymentLimit, p.currency)} per payment), valid until ${when(p.expiresAt)}`,
            p,
          )
          return 0
        },
      ),
    )

  subcommand(program, 'balance', 'the offline purse, and the online balance when the bridge is reachable', [
    'opg-wallet balance',
    'opg-wallet balance --json',
  ]).action(
    action(async (o: CliFlags) => {
      const cfg = cli.config(o)
      const wallet = await cli.open(cfg)
      const purse = wallet.purse() ?? null
      let online: { available: number; escrow: number; currency: string } | null = null
      let note = ''
      if (cfg.bridgeUrl && wallet.walletId && (cfg.apiKey ?? wallet.apiKey)) {
        try {
          online = await cli.client(cfg, wallet).balance(wallet.walletId)
        } catch (err) {
          if (!isWalletError(err, 'offline')) throw err
          note = 'bridge unreachable: showing the offline purse only'
        }
      }
      const lines = [
        purse
          ? `offline purse ${formatMoney(purse.remaining, purse.currency)} left of ${formatMoney(purse.purseAmount, purse.currency)}${purse.expired ? ' (expired: sync and load a new one)' : `, valid until ${when(purse.expiresAt)}`}`
          : 'no offline purse',
        online
          ? `online balance ${formatMoney(online.available, online.currency)}, in purses ${formatMoney(online.escrow, online.currency)}`
          : '',
        `unsynced payments ${wallet.unsynced().length}`,
        note,
      ]
      cli.print(cfg, lines.filter(Boolean).join('\n'), { purse, online, unsynced: wallet.unsynced().length })
      return 0
    }),
  )
}
