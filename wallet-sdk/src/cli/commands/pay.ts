/**
 * `opg-wallet pay`, `show` and `pay-invoice`: paying a merchant box offline by QR code (or BLE, or online from
 * the balance), showing a logged payment again, and paying an invoice online.
 */
import { writeFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { formatMoney, uuidv7 } from '@opg/protocol'
import { action, subcommand } from '@opg/protocol/cli'
import { nodeBackend } from '@opg/protocol/node'
import type { Command } from 'commander'
import { payOverBle } from '../../core/ble-pay.js'
import { WalletError } from '../../core/errors.js'
import { getInvoice, payInvoiceOnline, payMerchantOnline } from '../../core/online-payments.js'
import type { Payment } from '../../core/payment.js'
import { openBleChannel } from '../../node/ble-channel.js'
import { qrSvg, qrTerminal, writeQrPng } from '../../node/qr-render.js'
import { readStickerArg } from '../../node/sticker-image.js'
import type { CliConfig, CliFlags } from '../config.js'
import { amountArg, hex, type WalletCli } from '../context.js'

interface ShowFlags extends CliFlags {
  png?: string
  svg?: string
}

export function addPayCommands(program: Command, cli: WalletCli): void {
  subcommand(
    program,
    'pay',
    "pay a merchant box offline: prints the QR code to show the box's camera (or pays over BLE); --online pays the sticker's merchant from the balance instead",
    [
      'opg-wallet pay --sticker sticker.png --amount 2.50',
      "opg-wallet pay --sticker 'OPGM:…' --amount 12.50 --png pay.png",
      'opg-wallet pay --sticker sticker.txt --amount 4 --ble',
    ],
  )
    .requiredOption(
      '--sticker <text|file>',
      "the box's sticker: its OPGM: text, a text file, or the sticker PNG/JPEG",
    )
    .requiredOption('--amount <amount>', 'how much, as money: 2.50 (with --minor: 250)')
    .option('--minor', 'the amount is whole minor units')
    .option('--png <file>', 'write the payment QR code as PNG instead of drawing it')
    .option('--svg <file>', 'write the payment QR code as SVG instead of drawing it')
    .option('--ble', 'pay over Bluetooth LE instead of a QR code')
    .option('--online', "pay the merchant online from the wallet's balance")
    .action(
      action(
        async (
          o: ShowFlags & {
            sticker: string
            amount: string
            minor?: boolean
            ble?: boolean
            online?: boolean
          },
        ) => {
          const cfg = cli.config(o)
          const stickerText = await readStickerArg(o.sticker, (p) => resolve(cli.io.cwd, p))
          const wallet = await cli.open(cfg)
          const target = wallet.readSticker(stickerText)
          if (o.online) {
            if (!wallet.walletId) throw new WalletError('no_wallet', 'register the wallet first')
            const me = cli.client(cfg, wallet)
            const currency = (await me.tenant()).currency
            const pay = await payMerchantOnline(me, wallet.walletId, {
              to: target,
              amount: amountArg(o.amount, currency, o.minor === true),
              currency,
              idempotencyKey: uuidv7(nodeBackend),
            })
            cli.print(
              cfg,
              `paid ${formatMoney(pay.amount, pay.currency)} to ${target.merchantName} online: ${pay.status}`,
              pay,
            )
            return 0
          }
          const purse = wallet.purse()
          if (!purse)
            throw new WalletError('no_purse', 'no offline purse: load one with opg-wallet load-purse')
          const amount = amountArg(o.amount, purse.currency, o.minor === true)
          if (o.ble) {
            const r = await payOverBle(wallet, openBleChannel(target), { to: target, amount })
            cli.print(
              cfg,
              `paid ${formatMoney(amount, r.payment.currency)} to ${target.merchantName} over BLE, receipt ok (tx ${r.payment.txId})`,
              { txId: r.payment.txId, counter: r.payment.counter, receipt: hex(r.receipt.bytes) },
            )
            return 0
          }
          const p = await wallet.pay({ to: target, amount })
          return display(cli, cfg, o, p, wallet.purse()?.remaining ?? 0)
        },
      ),
    )

  subcommand(program, 'show <txid>', "show a logged payment's QR code again (the same token)", [
    'opg-wallet show 0193… --png again.png',
  ])
    .option('--png <file>', 'write the QR code as PNG')
    .option('--svg <file>', 'write the QR code as SVG')
    .action(
      action(async (txId: string, o: ShowFlags) => {
        const cfg = cli.config(o)
        const wallet = await cli.open(cfg)
        return display(cli, cfg, o, wallet.payment(txId))
      }),
    )

  subcommand(
    program,
    'pay-invoice <invoice>',
    "pay a merchant's invoice online, from the balance or by card",
    ["opg-wallet pay-invoice 'OPGI:…'", 'opg-wallet pay-invoice 0193… --card tok_visa'],
  )
    .option('--card <token>', "pay by card: the payment provider's card token")
    .action(
      action(async (invoice: string, o: CliFlags & { card?: string }) => {
        const cfg = cli.config(o)
        const wallet = await cli.open(cfg)
        const me = cli.client(cfg, wallet)
        const inv = await getInvoice(me, invoice)
        const pay = await payInvoiceOnline(me, {
          invoice,
          idempotencyKey: uuidv7(nodeBackend),
          ...(o.card ? { cardToken: o.card } : {}),
        })
        cli.print(
          cfg,
          `paid invoice ${inv.reference}: ${formatMoney(pay.amount, pay.currency)} by ${pay.method}, ${pay.status}`,
          pay,
        )
        return 0
      }),
    )
}

/** Show a payment: QR code in the terminal (or PNG/SVG files), the OPG1 text, and what is left. */
async function display(
  cli: WalletCli,
  cfg: CliConfig,
  o: ShowFlags,
  p: Payment,
  remaining?: number,
): Promise<number> {
  if (o.png) await writeQrPng(resolve(cli.io.cwd, o.png), p.qrText)
  if (o.svg) await writeFile(resolve(cli.io.cwd, o.svg), await qrSvg(p.qrText))
  const target = p.target
  const human = [
    cfg.json || o.png || o.svg ? '' : await qrTerminal(p.qrText),
    `pay ${formatMoney(p.amount, p.currency)} to ${target.merchantName} (device ${target.deviceId}) — show this to the box`,
    p.qrText,
    `tx ${p.txId}, counter ${p.counter}${remaining === undefined ? '' : `; purse left ${formatMoney(remaining, p.currency)}`}`,
  ]
    .filter(Boolean)
    .join('\n')
  cli.print(cfg, human, {
    txId: p.txId,
    counter: p.counter,
    amountMinor: p.amount,
    currency: p.currency,
    merchant: target.merchantName,
    deviceId: target.deviceId,
    qrText: p.qrText,
    ...(remaining === undefined ? {} : { remainingMinor: remaining }),
  })
  return 0
}
