/**
 * The `opg-bridge` command: start a bridge, apply migrations, manage issuer keys, and bootstrap tenants.
 *
 *   opg-bridge start                          run the bridge until SIGINT/SIGTERM
 *   opg-bridge migrate                        apply pending database migrations
 *   opg-bridge issuer init [TENANT]           create the master key file if missing; give tenants an issuer key
 *   opg-bridge issuer rotate TENANT           new active issuer key; the old one still verifies
 *   opg-bridge tenant create NAME [--currency EUR]   create a tenant; prints its first operator key
 *   opg-bridge tenant suspend|resume NAME [--reason TEXT]   stop or restart a tenant (audited)
 *   opg-bridge payouts build TENANT CURRENCY   batch what is due to merchant banks (one line per merchant)
 *   opg-bridge payouts list TENANT             the tenant's payout batches
 *   opg-bridge payouts paid TENANT PAYOUT_ID   the bank confirmed a batch: settle it in the ledger
 *   opg-bridge broker-config --out DIR --cafile F --bridge-cafile F --certfile F --keyfile F [...]
 *                                              Mosquitto config + ACL from the fleet (see fleet/broker-config.ts)
 *
 * Configuration comes from the environment and OPG_CONFIG_FILE (see config.ts). Results go to stdout,
 * logs and errors to stderr; the exit code is 0 on success, 1 on failure, 2 on a usage error.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Writable } from 'node:stream'
import { formatMoney } from '@opg/protocol'
import { nodeBackend } from '@opg/protocol/node'
import { Bridge, createLogger, loadMasterKey } from './bridge.js'
import { type Config, ConfigError, loadConfig } from './config.js'
import { migrate } from './db/migrate.js'
import { openDb } from './db/open.js'
import type { Db } from './db/types.js'
import { brokerFleet, mosquittoAcl, mosquittoConf } from './fleet/broker-config.js'
import { setTenantStatus } from './fleet/operator-actions.js'
import { initIssuer, listIssuerKeys, rotateIssuer } from './issuer/index.js'
import { buildPayout } from './online/payout-build.js'
import { listPayouts, markPayoutPaid, type Payout } from './online/payouts.js'
import { createTenant, findTenantByName, listTenants } from './tenants/tenants.js'

/** Where the CLI reads and writes; tests pass their own. */
export interface CliIo {
  env: NodeJS.ProcessEnv
  stdout: Writable
  stderr: Writable
  /** Ends `start` (default: SIGINT or SIGTERM). */
  signal?: AbortSignal
}

const USAGE = `usage:
  opg-bridge start
  opg-bridge migrate
  opg-bridge issuer init [TENANT]
  opg-bridge issuer rotate TENANT
  opg-bridge tenant create NAME [--currency XXX]
  opg-bridge tenant suspend|resume NAME [--reason TEXT]
  opg-bridge payouts build TENANT CURRENCY | list TENANT | paid TENANT PAYOUT_ID
  opg-bridge broker-config --out DIR --cafile F --bridge-cafile F --certfile F --keyfile F
      [--crlfile F] [--port 8883] [--bind ADDR] [--bridge-port 8884] [--bridge-bind ADDR]
      [--bridge-user opg-bridge] [--acl-file PATH] [--persistence-dir DIR] [--user ACCOUNT]`

class UsageError extends Error {}

/** Run the CLI; resolves with the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const out = (s: string) => io.stdout.write(`${s}\n`)
  const err = (s: string) => io.stderr.write(`${s}\n`)
  try {
    const [cmd, sub, ...rest] = argv
    if (cmd === undefined || cmd === '--help' || cmd === '-h') {
      out(USAGE)
      return cmd === undefined ? 2 : 0
    }
    const config = loadConfig({ env: io.env })
    switch (cmd) {
      case 'start':
        return await start(config, io)
      case 'migrate':
        return await withDb(config, async (db) => {
          const r = await migrate(db)
          out(r.applied.length ? `applied: ${r.applied.join(', ')}` : 'database is up to date')
          return 0
        })
      case 'issuer':
        if (sub === 'init') return await issuerInit(config, rest[0], out)
        if (sub === 'rotate' && rest[0]) return await issuerRotate(config, rest[0], out)
        throw new UsageError('issuer init [TENANT] | issuer rotate TENANT')
      case 'tenant':
        if (sub === 'create' && rest[0]) return await tenantCreate(config, rest, out, err)
        if ((sub === 'suspend' || sub === 'resume') && rest[0])
          return await tenantStatus(config, sub, rest, out)
        throw new UsageError(
          'tenant create NAME [--currency XXX] | tenant suspend|resume NAME [--reason TEXT]',
        )
      case 'payouts':
        return await payouts(config, sub, rest, out)
      case 'broker-config':
        return await brokerConfig(config, argv.slice(1), out)
      default:
        throw new UsageError(`unknown command ${cmd}`)
    }
  } catch (e) {
    if (e instanceof UsageError) {
      err(`${e.message}\n${USAGE}`)
      return 2
    }
    if (e instanceof ConfigError) {
      err(e.message)
      return 1
    }
    const code = (e as { code?: unknown }).code
    err(`error${typeof code === 'string' ? ` (${code})` : ''}: ${(e as Error).message}`)
    return 1
  }
}

async function withDb<T>(config: Config, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await openDb(config.database.url, { warn: () => {} })
  try {
    await migrate(db)
    return await fn(db)
  } finally {
    await db.close()
  }
}

async function start(config: Config, io: CliIo): Promise<number> {
  const bridge = new Bridge({ config, logger: createLogger(config.log.level, io.stderr) })
  const { httpUrl, mqttUrl } = await bridge.start()
  io.stdout.write(`opg bridge listening: api ${httpUrl}, mqtt ${mqttUrl}\n`)
  await new Promise<void>((resolve) => {
    if (io.signal) {
      if (io.signal.aborted) resolve()
      else io.signal.addEventListener('abort', () => resolve(), { once: true })
      return
    }
    const onSignal = () => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      resolve()
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
  await bridge.stop()
  return 0
}

function masterKey(config: Config) {
  return loadMasterKey(nodeBackend, config.masterKeyFile)
}

async function issuerInit(
  config: Config,
  tenantName: string | undefined,
  out: (s: string) => void,
): Promise<number> {
  const file = config.masterKeyFile
  if (!file) throw new UsageError('set OPG_MASTER_KEY_FILE to where the master key is (or is to be) kept')
  if (!existsSync(file)) {
    // 'wx': never overwrite a key that appeared meanwhile — that would orphan every sealed secret.
    writeFileSync(file, `${randomBytes(16).toString('hex')}\n`, { mode: 0o600, flag: 'wx' })
    out(`created master key file ${file} (keep it safe: it unseals issuer keys and device secrets)`)
  }
  const sealer = masterKey(config)
  return withDb(config, async (db) => {
    const tenants = tenantName ? [await findTenantByName(db, tenantName)] : await listTenants(db)
    if (tenants.some((t) => t === null)) throw new Error(`no tenant named ${tenantName}`)
    for (const t of tenants) {
      const k = await initIssuer(db, { c: nodeBackend, sealer }, t!.id)
      out(`tenant ${t!.name}: issuer key ${k.keyId}`)
    }
    return 0
  })
}

async function issuerRotate(config: Config, tenantName: string, out: (s: string) => void): Promise<number> {
  const sealer = masterKey(config)
  return withDb(config, async (db) => {
    const t = await findTenantByName(db, tenantName)
    if (!t) throw new Error(`no tenant named ${tenantName}`)
    const k = await db.transaction((tx) => rotateIssuer(tx, { c: nodeBackend, sealer }, t.id))
    const verifying = (await listIssuerKeys(db, t.id))
      .filter((x) => x.status === 'verify')
      .map((x) => x.keyId)
    out(`tenant ${t.name}: active issuer key ${k.keyId}; still verifying: ${verifying.join(', ') || 'none'}`)
    return 0
  })
}

async function tenantCreate(
  config: Config,
  args: string[],
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  const name = args[0]!
  const i = args.indexOf('--currency')
  const currency = i >= 0 ? args[i + 1] : 'EUR'
  if (!currency) throw new UsageError('--currency needs a value')
  const sealer = masterKey(config)
  if (config.database.url === 'memory:') err('warning: DATABASE_URL is memory: — this tenant is lost on exit')
  return withDb(config, async (db) => {
    const { tenant, operatorKey } = await createTenant(db, name, currency)
    const k = await initIssuer(db, { c: nodeBackend, sealer }, tenant.id)
    out(`tenant ${tenant.name} (${tenant.id}, ${tenant.currency}), issuer key ${k.keyId}`)
    out(`operator key (shown once): ${operatorKey.key}`)
    return 0
  })
}

/** The platform's switch for a tenant (its own keys stop while it is suspended, so resume lives here). */
async function tenantStatus(
  config: Config,
  sub: 'suspend' | 'resume',
  args: string[],
  out: (s: string) => void,
): Promise<number> {
  const i = args.indexOf('--reason')
  const reason = i >= 0 ? (args[i + 1] ?? null) : null
  return withDb(config, async (db) => {
    const t = await findTenantByName(db, args[0]!)
    if (!t) throw new Error(`no tenant named ${args[0]}`)
    const status = sub === 'suspend' ? 'suspended' : 'active'
    const r = await setTenantStatus(db, t.id, status, { actor: null, reason, now: new Date() })
    out(`tenant ${t.name}: ${r.status}${r.changed ? '' : ' (unchanged)'}`)
    return 0
  })
}

function printPayout(p: Payout, out: (s: string) => void): void {
  out(
    `payout ${p.id}${p.testMode ? ' (test money)' : ''} ${p.currency} ${p.status}${p.paidAt ? ` ${p.paidAt.toISOString()}` : ''}`,
  )
  for (const l of p.lines) {
    const parts = `invoices ${formatMoney(l.invoiceAmount, p.currency)}, wallet ${formatMoney(l.walletAmount, p.currency)}`
    out(
      `  merchant ${l.merchantId} ${formatMoney(l.amount, p.currency)} (${parts}) to ${l.bankAccountRef ?? '(no bank account)'}: ${l.paymentIds.join(' ')}`,
    )
  }
}

async function payouts(
  config: Config,
  sub: string | undefined,
  rest: string[],
  out: (s: string) => void,
): Promise<number> {
  const [tenantName, arg] = rest
  if (!tenantName || (sub !== 'list' && !arg))
    throw new UsageError('payouts build TENANT CURRENCY | list TENANT | paid TENANT PAYOUT_ID')
  return withDb(config, async (db) => {
    const t = await findTenantByName(db, tenantName)
    if (!t) throw new Error(`no tenant named ${tenantName}`)
    if (sub === 'build') {
      const p = await buildPayout(db, t.id, arg!, { testMode: config.mode === 'test' })
      if (!p) out(`nothing due in ${arg}`)
      else printPayout(p, out)
      return 0
    }
    if (sub === 'list') {
      for (const p of await listPayouts(db, t.id)) printPayout(p, out)
      return 0
    }
    if (sub === 'paid') {
      printPayout(await markPayoutPaid(db, t.id, arg!, new Date()), out)
      return 0
    }
    throw new UsageError('payouts build TENANT CURRENCY | list TENANT | paid TENANT PAYOUT_ID')
  })
}

/** Write mosquitto.conf and the ACL file for the fleet in the database. */
async function brokerConfig(config: Config, args: string[], out: (s: string) => void): Promise<number> {
  const flags = new Map<string, string>()
  for (let i = 0; i < args.length; i += 2) {
    const [k, v] = [args[i]!, args[i + 1]]
    if (!k.startsWith('--') || v === undefined) throw new UsageError(`broker-config: bad argument ${k}`)
    flags.set(k.slice(2), v)
  }
  const need = (k: string) => {
    const v = flags.get(k)
    if (!v) throw new UsageError(`broker-config needs --${k}`)
    return resolve(v)
  }
  const opt = (k: string) => flags.get(k) ?? null
  const port = (k: string, d: number) => {
    const n = Number(flags.get(k) ?? d)
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`--${k} must be a port number`)
    return n
  }
  const dir = need('out')
  const aclFile = flags.has('acl-file') ? resolve(flags.get('acl-file')!) : join(dir, 'opg.acl')
  const conf = mosquittoConf({
    port: port('port', 8883),
    bind: opt('bind'),
    bridgePort: port('bridge-port', 8884),
    bridgeBind: opt('bridge-bind'),
    cafile: need('cafile'),
    bridgeCafile: need('bridge-cafile'),
    certfile: need('certfile'),
    keyfile: need('keyfile'),
    crlfile: flags.has('crlfile') ? need('crlfile') : null,
    aclFile,
    persistenceDir: flags.has('persistence-dir') ? need('persistence-dir') : null,
    runAs: opt('user'),
  })
  return withDb(config, async (db) => {
    const fleet = await brokerFleet(db)
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'mosquitto.conf'), conf, { mode: 0o640 })
    writeFileSync(join(dir, 'opg.acl'), mosquittoAcl(fleet, flags.get('bridge-user') ?? 'opg-bridge'), {
      mode: 0o640,
    })
    out(`wrote ${join(dir, 'mosquitto.conf')} and ${join(dir, 'opg.acl')} (${fleet.length} boxes)`)
    if (aclFile !== join(dir, 'opg.acl')) out(`install opg.acl as ${aclFile}`)
    return 0
  })
}
