/** `opg-bridge issuer init | rotate`: the master key file and each tenant's issuer keys. */
import { randomBytes } from 'node:crypto'
import { existsSync, writeFileSync } from 'node:fs'
import { action, CliUsageError, subcommand } from '@opg/protocol/cli'
import { nodeBackend } from '@opg/protocol/node'
import type { Command } from 'commander'
import { initIssuer, listIssuerKeys, rotateIssuer } from '../issuer/index.js'
import { loadMasterKey } from '../issuer/master-key.js'
import { listTenants } from '../tenants/tenants.js'
import type { BridgeCli } from './context.js'

export function addIssuerCommands(program: Command, cli: BridgeCli): void {
  const issuer = program
    .command('issuer')
    .description('the issuer keys that sign wallet and box certificates')

  subcommand(
    issuer,
    'init [tenant]',
    'create the master key file if missing; give tenants (all, or one by name or id) an issuer key',
    ['OPG_MASTER_KEY_FILE=/etc/opg/master.key opg-bridge issuer init', 'opg-bridge issuer init Acme'],
  ).action(
    action(async (tenantName: string | undefined) => {
      const file = cli.config.masterKeyFile
      if (!file)
        throw new CliUsageError('set OPG_MASTER_KEY_FILE to where the master key is (or is to be) kept')
      if (!existsSync(file)) {
        // 'wx': never overwrite a key that appeared meanwhile — that would orphan every sealed secret.
        writeFileSync(file, `${randomBytes(16).toString('hex')}\n`, { mode: 0o600, flag: 'wx' })
        cli.output.out(
          `created master key file ${file} (keep it safe: it unseals issuer keys and device secrets)`,
        )
      }
      const sealer = loadMasterKey(nodeBackend, file)
      return cli.withDb({ writes: true }, async (db) => {
        const tenants = tenantName ? [await cli.tenant(db, tenantName)] : await listTenants(db)
        for (const t of tenants) {
          const k = await initIssuer(db, { c: nodeBackend, sealer }, t.id)
          cli.output.out(`tenant ${t.name}: issuer key ${k.keyId}`)
        }
        return 0
      })
    }),
  )

  subcommand(issuer, 'rotate <tenant>', 'make a new active issuer key; the old one still verifies', [
    'opg-bridge issuer rotate Acme',
  ]).action(
    action(async (tenantName: string) => {
      const sealer = loadMasterKey(nodeBackend, cli.config.masterKeyFile)
      return cli.withDb({ writes: true }, async (db) => {
        const t = await cli.tenant(db, tenantName)
        const k = await db.transaction((tx) => rotateIssuer(tx, { c: nodeBackend, sealer }, t.id))
        const verifying = (await listIssuerKeys(db, t.id))
          .filter((x) => x.status === 'verify')
          .map((x) => x.keyId)
        cli.output.out(
          `tenant ${t.name}: active issuer key ${k.keyId}; still verifying: ${verifying.join(', ') || 'none'}`,
        )
        return 0
      })
    }),
  )
}
