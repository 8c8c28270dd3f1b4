/**
 * What every `opg-wallet` subcommand needs: the configuration from flags and environment, the opened wallet,
 * bridge clients, amount parsing (decimal money through `parseMoney`) and output in human or JSON form.
 */
import { parseMoney } from '@opg/protocol'
import { type CliOutput, CliUsageError } from '@opg/protocol/cli'
import { BridgeClient } from '../core/bridge-client.js'
import { WalletError } from '../core/errors.js'
import { walletClient } from '../core/online.js'
import type { Wallet } from '../core/wallet.js'
import { openFileWallet } from '../node/index.js'
import { type CliConfig, type CliFlags, resolveConfig } from './config.js'

/** Where the CLI reads and writes; tests pass their own. */
export interface CliIo {
  stdout: (s: string) => void
  stderr: (s: string) => void
  env: Record<string, string | undefined>
  cwd: string
  /** A terminal for progress bars (the launcher passes process.stderr). */
  progressStream?: NodeJS.WriteStream
}

/** The context a subcommand handler gets. */
export class WalletCli {
  readonly output: CliOutput
  constructor(readonly io: CliIo) {
    this.output = {
      out: (l) => io.stdout(`${l}\n`),
      err: (l) => io.stderr(`${l}\n`),
      progressStream: io.progressStream,
    }
  }

  config(flags: CliFlags): CliConfig {
    return resolveConfig(flags, this.io.env, this.io.cwd)
  }

  /** Print `human`, or `data` as one JSON line with --json. */
  print(cfg: CliConfig, human: string, data: unknown): void {
    this.io.stdout(cfg.json ? `${JSON.stringify(data)}\n` : `${human}\n`)
  }

  async open(cfg: CliConfig, create: false | 'new' = false): Promise<Wallet> {
    if (!cfg.key) {
      throw new WalletError(
        'bad_passphrase',
        'set OPG_WALLET_PASSPHRASE or --key-file: the wallet state is always encrypted',
      )
    }
    const opened = await openFileWallet({ dir: cfg.dir, key: cfg.key, create })
    for (const txId of opened.wallet.recovered) {
      this.io.stderr(
        `note: payment ${txId} was interrupted before it was shown; show it with: opg-wallet show ${txId}\n`,
      )
    }
    return opened.wallet
  }

  bridge(cfg: CliConfig, apiKey?: string): BridgeClient {
    if (!cfg.bridgeUrl) throw new WalletError('offline', 'no bridge URL: set OPG_BRIDGE_URL or --bridge')
    return new BridgeClient({ baseUrl: cfg.bridgeUrl, ...(apiKey ? { apiKey } : {}) })
  }

  /** The bridge as this wallet (its own API key). */
  client(cfg: CliConfig, wallet: Wallet): BridgeClient {
    return walletClient(wallet, this.bridge(cfg), cfg.apiKey ?? wallet.apiKey)
  }

  operator(cfg: CliConfig): BridgeClient {
    if (!cfg.operatorKey) throw new WalletError('bridge', 'this needs an operator key: set OPG_OPERATOR_KEY')
    return this.bridge(cfg, cfg.operatorKey)
  }
}

/**
 * An amount the user typed: decimal money in `currency` ("12.50"), or with `--minor` a whole number of minor
 * units ("1250"). Refusals carry the money module's code (`bad_amount`) and hint.
 */
export function amountArg(text: string | undefined, currency: string, minor: boolean): number {
  if (text === undefined) throw new CliUsageError('an amount is needed')
  if (minor) return minorArg(text, 'amount')
  return parseMoney(text, currency)
}

/** A whole positive number (minor units, seconds, counts). */
export function minorArg(text: string, what: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 0xffffffff) {
    throw new CliUsageError(`${what} takes a whole positive number, got '${text}'`)
  }
  return Number(text)
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex')
}

/**
 * A moment as a person reads it on this command line: `2026-12-08 17:06 UTC`, to the minute, in UTC so the
 * line means the same wherever it is read. Takes Unix seconds, or a date the bridge sent (ISO 8601).
 */
export function when(at: number | string): string {
  const d = typeof at === 'number' ? new Date(at * 1000) : new Date(at)
  if (Number.isNaN(d.getTime())) return String(at)
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`
}
