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

/** The environment paragraph of `opg-wallet --help`. */
export const ENV_HELP = `Environment (flags win):
  ${ENV.dir}         state directory (default ~/.opg-wallet)
  ${ENV.passphrase}  passphrase of the encrypted state (or ${ENV.keyFile}: a 16-byte key file)
  ${ENV.bridge}         bridge base URL
  ${ENV.apiKey}     the wallet's API key (default: the one saved at registration)
  ${ENV.operatorKey}       operator key for create/register/top-up
Amounts are money as you would write it (12.50); with --minor, whole minor units (1250). JSON output keeps
amounts as integers in minor units (\`amountMinor\`, or \`amount\` where the bridge's own record is printed).`
