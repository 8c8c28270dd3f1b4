/**
 * `opg-bridge broker-config`: the Mosquitto configuration and per-box ACL an operator runs in production,
 * generated from the fleet in the database (fleet/broker-config.ts). Re-run it (and `kill -HUP` Mosquitto)
 * after every enrolment or revocation.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { action, CliUsageError, subcommand } from '@opg/protocol/cli'
import type { Command } from 'commander'
import { brokerFleet, mosquittoAcl, mosquittoConf } from '../fleet/broker-config.js'
import type { BridgeCli } from './context.js'

interface BrokerConfigFlags {
  out: string
  cafile: string
  bridgeCafile: string
  certfile: string
  keyfile: string
  crlfile?: string
  port: string
  bind?: string
  bridgePort: string
  bridgeBind?: string
  bridgeUser: string
  aclFile?: string
  persistenceDir?: string
  user?: string
}

function port(v: string, flag: string): number {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new CliUsageError(`--${flag} must be a port number`)
  return n
}

export function addBrokerConfigCommand(program: Command, cli: BridgeCli): void {
  subcommand(
    program,
    'broker-config',
    'write mosquitto.conf and opg.acl for Mosquitto from the fleet (TLS, client certificates, per-box ACL)',
    [
      'opg-bridge broker-config --out /etc/mosquitto/conf.d --cafile boxes-ca.pem --bridge-cafile bridge-ca.pem \\',
      '  --certfile broker.pem --keyfile broker.key --crlfile boxes.crl',
    ],
  )
    .requiredOption('--out <dir>', 'folder to write mosquitto.conf and opg.acl into')
    .requiredOption('--cafile <file>', "CA of the boxes' client certificates")
    .requiredOption('--bridge-cafile <file>', "CA of the bridge's client certificate (not the boxes' CA)")
    .requiredOption('--certfile <file>', "the broker's certificate")
    .requiredOption('--keyfile <file>', "the broker's key")
    .option('--crlfile <file>', 'revoked box certificates')
    .option('--port <n>', 'TLS listener for boxes', '8883')
    .option('--bind <addr>', 'address of the boxes listener')
    .option('--bridge-port <n>', 'TLS listener for the bridge', '8884')
    .option('--bridge-bind <addr>', 'address of the bridge listener (keep it private)')
    .option('--bridge-user <name>', "the bridge's certificate identity", 'opg-bridge')
    .option('--acl-file <path>', 'where Mosquitto will read the ACL (default: <out>/opg.acl)')
    .option('--persistence-dir <dir>', "Mosquitto's persistence folder")
    .option('--user <account>', 'account Mosquitto drops to')
    .action(
      action(async (o: BrokerConfigFlags) => {
        const dir = resolve(o.out)
        const aclFile = o.aclFile ? resolve(o.aclFile) : join(dir, 'opg.acl')
        const conf = mosquittoConf({
          port: port(o.port, 'port'),
          bind: o.bind ?? null,
          bridgePort: port(o.bridgePort, 'bridge-port'),
          bridgeBind: o.bridgeBind ?? null,
          cafile: resolve(o.cafile),
          bridgeCafile: resolve(o.bridgeCafile),
          certfile: resolve(o.certfile),
          keyfile: resolve(o.keyfile),
          crlfile: o.crlfile ? resolve(o.crlfile) : null,
          aclFile,
          persistenceDir: o.persistenceDir ? resolve(o.persistenceDir) : null,
          runAs: o.user ?? null,
        })
        return cli.withDb({ writes: false }, async (db) => {
          const fleet = await brokerFleet(db)
          mkdirSync(dir, { recursive: true })
          writeFileSync(join(dir, 'mosquitto.conf'), conf, { mode: 0o640 })
          writeFileSync(join(dir, 'opg.acl'), mosquittoAcl(fleet, o.bridgeUser), { mode: 0o640 })
          cli.output.out(
            `wrote ${join(dir, 'mosquitto.conf')} and ${join(dir, 'opg.acl')} (${fleet.length} boxes)`,
          )
          if (aclFile !== join(dir, 'opg.acl')) cli.output.out(`install opg.acl as ${aclFile}`)
          return 0
        })
      }),
    )
}
