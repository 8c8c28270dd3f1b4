/**
 * The `opg-wallet` command: a customer wallet kept encrypted in a directory, paying merchant boxes offline by
 * QR code (or BLE) and syncing with the bridge when online. `runCli` takes its I/O as arguments, so tests run
 * the real command in-process or as a child process alike.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { uuidv7 } from '@opg/protocol'
import { nodeBackend } from '@opg/protocol/node'
import { payOverBle } from '../core/ble-pay.js'
import { BridgeClient } from '../core/bridge-client.js'
import { isWalletError, WalletError } from '../core/errors.js'
import { claim, history, loadPurse, registerWallet, sync, walletClient } from '../core/online.js'
import { getInvoice, payInvoiceOnline, payMerchantOnline, topUpByCard } from '../core/online-payments.js'
import type { Payment } from '../core/payment.js'
import type { Wallet } from '../core/wallet.js'
import { openBleChannel } from '../node/ble-channel.js'
import { openFileWallet } from '../node/index.js'
import { qrSvg, qrTerminal, writeQrPng } from '../node/qr-render.js'
import { type CliConfig, resolveConfig, USAGE } from './config.js'

export interface CliIo {
  stdout: (s: string) => void
  stderr: (s: string) => void
  env: Record<string, string | undefined>
  cwd: string
}

const OPTIONS = {
  dir: { type: 'string' },
  'key-file': { type: 'string' },
  bridge: { type: 'string' },
  'api-key': { type: 'string' },
  'operator-key': { type: 'string' },
  json: { type: 'boolean' },
  phone: { type: 'string' },
  sticker: { type: 'string' },
  amount: { type: 'string' },
  png: { type: 'string' },
  svg: { type: 'string' },
  ble: { type: 'boolean' },
  limit: { type: 'string' },
  ttl: { type: 'string' },
  ref: { type: 'string' },
  reason: { type: 'string' },
  replace: { type: 'boolean' },
  online: { type: 'boolean' },
  card: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

class UsageError extends Error {}

/** Run the CLI; resolves to the process exit code (0 ok, 1 refused/failed, 2 usage). */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
  } catch (err) {
    io.stderr(`${(err as Error).message}\n\n${USAGE}`)
    return 2
  }
  const { values: v, positionals } = parsed
  const [command, ...rest] = positionals
  if (v.help || !command) {
    io.stdout(USAGE)
    return command || v.help ? 0 : 2
  }
  const cfg = resolveConfig(v, io.env, io.cwd)
  const out = (human: string, data: unknown) =>
    io.stdout(cfg.json ? `${JSON.stringify(data)}\n` : `${human}\n`)
  try {
    switch (command) {
      case 'create': {
        const { wallet } = await open(cfg, io, 'new')
        let registered = false
        if (v.phone && cfg.operatorKey) {
          await registerWallet(wallet, operatorClient(cfg), { phone: v.phone })
          registered = true
        }
        out(
          `wallet ${wallet.walletId ?? '(not registered)'}\npublic key ${hex(wallet.publicKey)}\nstate in ${cfg.dir}`,
          { walletId: wallet.walletId ?? null, publicKey: hex(wallet.publicKey), dir: cfg.dir, registered },
        )
        return 0
      }
      case 'register': {
        if (!v.phone) throw new UsageError('register needs --phone')
        const { wallet } = await open(cfg, io)
        await registerWallet(wallet, operatorClient(cfg), { phone: v.phone })
        out(`registered as wallet ${wallet.walletId}`, { walletId: wallet.walletId })
        return 0
      }
      case 'top-up': {
        const amount = amountArg(rest[0])
        const { wallet } = await open(cfg, io)
        if (!wallet.walletId) throw new WalletError('no_wallet', 'register the wallet first')
        if (v.card) {
          const me = client(cfg, wallet)
          const pay = await topUpByCard(me, wallet.walletId, {
            amount,
            currency: (await me.tenant()).currency,
            cardToken: v.card,
            idempotencyKey: uuidv7(nodeBackend),
          })
          out(`topped up ${pay.amount} ${pay.currency} by ${pay.method} card: ${pay.status}`, pay)
          return 0
        }
        const b = await operatorClient(cfg).topUp(wallet.walletId, {
          amount,
          ref: v.ref ?? `cli-${Date.now()}`,
        })
        out(`available ${b.available} ${b.currency}, in purses ${b.escrow}`, b)
        return 0
      }
      case 'pay-invoice': {
        const invoice = rest[0]
        if (!invoice) throw new UsageError('pay-invoice needs the invoice QR text (OPGI:…) or id')
        const { wallet } = await open(cfg, io)
        const me = client(cfg, wallet)
        const inv = await getInvoice(me, invoice)
        const pay = await payInvoiceOnline(me, {
          invoice,
          idempotencyKey: uuidv7(nodeBackend),
          ...(v.card ? { cardToken: v.card } : {}),
        })
        out(
          `paid invoice ${inv.reference}: ${pay.amount} ${pay.currency} by ${pay.method}, ${pay.status}`,
          pay,
        )
        return 0
      }
      case 'load-purse': {
        const amount = amountArg(rest[0])
        const { wallet } = await open(cfg, io)
        const p = await loadPurse(wallet, client(cfg, wallet), {
          amount,
          ...(v.limit ? { perPaymentLimit: amountArg(v.limit) } : {}),
          ...(v.ttl ? { ttlSeconds: amountArg(v.ttl) } : {}),
          ...(v.replace ? { replace: true } : {}),
        })
        out(
          `offline purse ${p.remaining} ${p.currency} (limit ${p.perPaymentLimit} per payment), valid until ${iso(p.expiresAt)}`,
          p,
        )
        return 0
      }
      case 'pay':
        return await pay(cfg, v, io, out)
      case 'show': {
        const txId = rest[0]
        if (!txId) throw new UsageError('show needs a TXID')
        const { wallet } = await open(cfg, io)
        return await display(wallet.payment(txId), cfg, v, io, out)
      }
      case 'sync': {
        const { wallet } = await open(cfg, io)
        const r = await sync(wallet, client(cfg, wallet))
        const lines = r.results.map(
          (x) =>
            `${x.txId ?? '?'} ${x.outcome}${x.status ? ` ${x.status}` : ''}${x.code ? ` ${x.code}` : ''}`,
        )
        out([`uploaded ${r.uploaded} token(s)`, ...lines].join('\n'), r)
        return 0
      }
      case 'history': {
        const { wallet } = await open(cfg, io)
        const list = await history(wallet, client(cfg, wallet), v.limit ? amountArg(v.limit) : undefined)
        const lines = list.map(
          (p) =>
            `${p.txId} ${p.amount} ${p.currency} ${p.status}${p.holdUntil ? ` until ${p.holdUntil}` : ''} merchant ${p.merchantId}`,
        )
        out(lines.length ? lines.join('\n') : 'no payments yet', { payments: list })
        return 0
      }
      case 'claim': {
        const txId = rest[0]
        if (!txId) throw new UsageError('claim needs a TXID')
        const { wallet } = await open(cfg, io)
        const c = await claim(wallet, client(cfg, wallet), txId, v.reason ?? 'disputed by the payer')
        out(`claim ${c.id} on ${c.txId}: ${c.status}`, c)
        return 0
      }
      case 'balance':
        return await balance(cfg, io, out)
      case 'log': {
        const { wallet } = await open(cfg, io)
        const lines = wallet
          .log()
          .map(
            (e) =>
              `${e.txId} #${e.counter} ${e.amount} ${e.currency} to ${e.merchantName} ${e.syncedAt ? (e.syncOutcome ?? 'synced') : 'not synced'}`,
          )
        out(lines.length ? lines.join('\n') : 'no payments yet', { log: wallet.log() })
        return 0
      }
      default:
        throw new UsageError(`unknown command ${command}`)
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`${err.message}\n\n${USAGE}`)
      return 2
    }
    if (isWalletError(err)) {
      const remote = err.remoteCode ? ` (${err.remoteCode})` : ''
      io.stderr(
        cfg.json
          ? `${JSON.stringify({ error: { code: err.code, remoteCode: err.remoteCode ?? null, message: err.message } })}\n`
          : `error ${err.code}${remote}: ${err.message}\n`,
      )
      return 1
    }
    io.stderr(`error: ${(err as Error).message}\n`)
    return 1
  }
}

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values']

async function pay(
  cfg: CliConfig,
  v: Values,
  io: CliIo,
  out: (h: string, d: unknown) => void,
): Promise<number> {
  if (!v.sticker || !v.amount) throw new UsageError('pay needs --sticker and --amount')
  const amount = amountArg(v.amount)
  const stickerText = v.sticker.startsWith('OPGM:')
    ? v.sticker
    : (await readFile(resolve(io.cwd, v.sticker), 'utf8')).trim()
  const { wallet } = await open(cfg, io)
  const target = wallet.readSticker(stickerText)
  if (v.online) {
    if (!wallet.walletId) throw new WalletError('no_wallet', 'register the wallet first')
    const me = client(cfg, wallet)
    const pay = await payMerchantOnline(me, wallet.walletId, {
      to: target,
      amount,
      currency: (await me.tenant()).currency,
      idempotencyKey: uuidv7(nodeBackend),
    })
    out(`paid ${pay.amount} ${pay.currency} to ${target.merchantName} online: ${pay.status}`, pay)
    return 0
  }
  if (v.ble) {
    const channel = openBleChannel(target)
    const r = await payOverBle(wallet, channel, { to: target, amount })
    out(
      `paid ${amount} ${r.payment.currency} to ${target.merchantName} over BLE, receipt ok (tx ${r.payment.txId})`,
      {
        txId: r.payment.txId,
        counter: r.payment.counter,
        receipt: hex(r.receipt.bytes),
      },
    )
    return 0
  }
  const p = await wallet.pay({ to: target, amount })
  return display(p, cfg, v, io, out, wallet.purse()?.remaining ?? 0)
}

/** Show a payment: QR code in the terminal (or PNG/SVG files), the OPG1 text, and what is left. */
async function display(
  p: Payment,
  cfg: CliConfig,
  v: Values,
  io: CliIo,
  out: (h: string, d: unknown) => void,
  remaining?: number,
): Promise<number> {
  if (v.png) await writeQrPng(resolve(io.cwd, v.png), p.qrText)
  if (v.svg) await writeFile(resolve(io.cwd, v.svg), await qrSvg(p.qrText))
  const target = p.target
  const human = [
    cfg.json || v.png || v.svg ? '' : await qrTerminal(p.qrText),
    `pay ${p.amount} ${p.currency} to ${target.merchantName} (device ${target.deviceId}) — show this to the box`,
    p.qrText,
    `tx ${p.txId}, counter ${p.counter}${remaining === undefined ? '' : `; purse left ${remaining} ${p.currency}`}`,
  ]
    .filter(Boolean)
    .join('\n')
  out(human, {
    txId: p.txId,
    counter: p.counter,
    amount: p.amount,
    currency: p.currency,
    merchant: target.merchantName,
    deviceId: target.deviceId,
    qrText: p.qrText,
    ...(remaining === undefined ? {} : { remaining }),
  })
  return 0
}

async function balance(cfg: CliConfig, io: CliIo, out: (h: string, d: unknown) => void): Promise<number> {
  const { wallet } = await open(cfg, io)
  const purse = wallet.purse() ?? null
  let online: { available: number; escrow: number; currency: string } | null = null
  let note = ''
  if (cfg.bridgeUrl && wallet.walletId && (cfg.apiKey ?? wallet.apiKey)) {
    try {
      online = await client(cfg, wallet).balance(wallet.walletId)
    } catch (err) {
      if (!isWalletError(err, 'offline')) throw err
      note = 'bridge unreachable: showing the offline purse only'
    }
  }
  const lines = [
    purse
      ? `offline purse ${purse.remaining} of ${purse.purseAmount} ${purse.currency}${purse.expired ? ' (expired: sync and load a new one)' : `, valid until ${iso(purse.expiresAt)}`}`
      : 'no offline purse',
    online ? `online balance ${online.available} ${online.currency}, in purses ${online.escrow}` : '',
    `unsynced payments ${wallet.unsynced().length}`,
    note,
  ]
  out(lines.filter(Boolean).join('\n'), { purse, online, unsynced: wallet.unsynced().length })
  return 0
}

async function open(cfg: CliConfig, io: CliIo, create: false | 'new' = false): Promise<{ wallet: Wallet }> {
  if (!cfg.key) {
    throw new WalletError(
      'bad_passphrase',
      'set OPG_WALLET_PASSPHRASE or --key-file: the wallet state is always encrypted',
    )
  }
  const opened = await openFileWallet({ dir: cfg.dir, key: cfg.key, create })
  for (const txId of opened.wallet.recovered) {
    io.stderr(
      `note: payment ${txId} was interrupted before it was shown; show it with: opg-wallet show ${txId}\n`,
    )
  }
  return opened
}

function bridge(cfg: CliConfig, apiKey?: string): BridgeClient {
  if (!cfg.bridgeUrl) throw new WalletError('offline', 'no bridge URL: set OPG_BRIDGE_URL or --bridge')
  return new BridgeClient({ baseUrl: cfg.bridgeUrl, ...(apiKey ? { apiKey } : {}) })
}

function client(cfg: CliConfig, wallet: Wallet): BridgeClient {
  return walletClient(wallet, bridge(cfg), cfg.apiKey ?? wallet.apiKey)
}

function operatorClient(cfg: CliConfig): BridgeClient {
  if (!cfg.operatorKey) throw new WalletError('bridge', 'this needs an operator key: set OPG_OPERATOR_KEY')
  return bridge(cfg, cfg.operatorKey)
}

function amountArg(s: string | undefined): number {
  if (!s || !/^\d+$/.test(s) || Number(s) < 1 || Number(s) > 0xffffffff) {
    throw new UsageError(`expected a whole number of minor units, got ${s ?? 'nothing'}`)
  }
  return Number(s)
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex')
}

function iso(unixS: number): string {
  return new Date(unixS * 1000).toISOString()
}
