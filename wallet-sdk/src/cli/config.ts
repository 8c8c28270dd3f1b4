/**
 * The CLI's configuration from flags and environment, checked all at once (every problem reported together),
 * failing closed: the state is never written unencrypted and there is no default passphrase.
 */
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import type { StoreKeySource } from '../node/encrypted-file-storage.js'

export interface CliConfig {
  dir: string
  key: StoreKeySource | undefined
  bridgeUrl: string | undefined
  /** Overrides the API key saved at registration. */
  apiKey: string | undefined
  operatorKey: string | undefined
  json: boolean
}

export interface CliFlags {
  dir?: string | undefined
  'key-file'?: string | undefined
  bridge?: string | undefined
  'api-key'?: string | undefined
  'operator-key'?: string | undefined
  json?: boolean | undefined
}

/** Environment variables the CLI reads (flags win). */
export const ENV = {
  dir: 'OPG_WALLET_DIR',
  passphrase: 'OPG_WALLET_PASSPHRASE',
  keyFile: 'OPG_WALLET_KEY_FILE',
  scryptCost: 'OPG_WALLET_SCRYPT_COST',
  bridge: 'OPG_BRIDGE_URL',
  apiKey: 'OPG_WALLET_API_KEY',
  operatorKey: 'OPG_OPERATOR_KEY',
} as const

export function resolveConfig(
  flags: CliFlags,
  env: Record<string, string | undefined>,
  cwd: string,
): CliConfig {
  const dir = resolve(cwd, flags.dir ?? env[ENV.dir] ?? join(homedir(), '.opg-wallet'))
  const keyFile = flags['key-file'] ?? env[ENV.keyFile]
  const passphrase = env[ENV.passphrase]
  const cost = env[ENV.scryptCost] ? Number(env[ENV.scryptCost]) : undefined
  let key: StoreKeySource | undefined
  if (keyFile) key = { keyFile: resolve(cwd, keyFile) }
  else if (passphrase) key = cost ? { passphrase, scryptCost: cost } : { passphrase }
  return {
    dir,
    key,
    bridgeUrl: flags.bridge ?? env[ENV.bridge],
    apiKey: flags['api-key'] ?? env[ENV.apiKey],
    operatorKey: flags['operator-key'] ?? env[ENV.operatorKey],
    json: flags.json ?? false,
  }
}

export const USAGE = `opg-wallet — an opg customer wallet on the command line

Usage: opg-wallet <command> [options]

Commands
  create [--phone E164]              make a wallet (and register it when an operator key is set)
  register --phone E164              register the wallet's key with the bridge (operator key)
  top-up AMOUNT --card TOKEN         top up the balance by card (payment-provider token, e.g. tok_visa)
  top-up AMOUNT [--ref TEXT]         credit the balance from the operator side (operator key)
  load-purse AMOUNT [--limit N] [--ttl SECONDS] [--replace]
                                     escrow AMOUNT into an offline purse (online); --replace swaps a
                                     live purse (its leftover returns to the balance when it expires)
  pay --sticker TEXT|FILE --amount X [--png FILE] [--svg FILE] [--ble | --online]
                                     pay a merchant box offline: prints the QR code (or pays over BLE);
                                     --online pays the sticker's merchant from the balance instead
  pay-invoice OPGI:…|ID [--card TOKEN]
                                     pay a merchant's invoice online, from the balance or by card
  show TXID [--png FILE] [--svg FILE] show a logged payment's QR code again (same token)
  sync                               upload the signed log to the bridge
  history [--limit N]                payments as the bridge sees them (held, confirmed, ...)
  claim TXID [--reason TEXT]         dispute a payment
  balance                            offline purse, and the online balance when the bridge is reachable
  log                                the local signed log

Amounts are whole minor units (cents, paise). Options
  --dir DIR            state directory (env ${ENV.dir}; default ~/.opg-wallet)
  --key-file FILE      16-byte key file for the encrypted state (env ${ENV.keyFile});
                       otherwise the passphrase in env ${ENV.passphrase} (required: state is always encrypted)
  --bridge URL         bridge base URL (env ${ENV.bridge})
  --api-key KEY        the wallet's API key (env ${ENV.apiKey}; default: the one saved at registration)
  --operator-key KEY   operator key for register / top-up (env ${ENV.operatorKey})
  --json               machine-readable output
`
