/** `opg-bridge tenant create`: a new tenant with its issuer key and first operator key. */
import { isCurrency } from '@opg/protocol'
import { action, CliUsageError, subcommand } from '@opg/protocol/cli'
import { nodeBackend } from '@opg/protocol/node'
import type { Command } from 'commander'
import { setTenantStatus } from '../fleet/operator-actions.js'
import { initIssuer } from '../issuer/index.js'
import { loadMasterKey } from '../issuer/master-key.js'
import { createTenant, findTenantByName } from '../tenants/tenants.js'
import type { BridgeCli } from './context.js'

export function addTenantCommands(program: Command, cli: BridgeCli): void {
  const tenant = program
    .command('tenant')
    .description('create, suspend and resume tenants (needs the database)')
  subcommand(
    tenant,
    'create <name>',
    'create a tenant; prints its id and its first operator key (shown once)',
    ['opg-bridge tenant create Acme --currency EUR'],
  )
    .option('--currency <code>', 'ISO 4217 currency of the tenant', 'EUR')
    .action(
      action(async (name: string, o: { currency: string }) => {
        if (!isCurrency(o.currency))
          throw new CliUsageError(`unknown currency '${o.currency}' (use an ISO 4217 code such as EUR)`)
        const sealer = loadMasterKey(nodeBackend, cli.config.masterKeyFile)
        return cli.withDb({ writes: true }, async (db) => {
          const { tenant: t, operatorKey } = await createTenant(db, name, o.currency)
          const k = await initIssuer(db, { c: nodeBackend, sealer }, t.id)
          cli.output.out(`tenant ${t.name} (${t.id}, ${t.currency}), issuer key ${k.keyId}`)
          cli.output.out(`operator key (shown once): ${operatorKey.key}`)
          return 0
        })
      }),
    )

  for (const [verb, status, what] of [
    ['suspend', 'suspended', 'stop a tenant: its keys, boxes and batches are refused (audited)'],
    ['resume', 'active', 'restart a suspended tenant (audited)'],
  ] as const) {
    subcommand(tenant, `${verb} <name>`, what, [`opg-bridge tenant ${verb} Acme --reason "fraud review"`])
      .option('--reason <text>', 'why, kept in the audit log')
      .action(
        action(async (name: string, o: { reason?: string }) =>
          cli.withDb({ writes: true }, async (db) => {
            const t = await findTenantByName(db, name)
            if (!t) throw new CliUsageError(`no tenant named ${name}`)
            const r = await setTenantStatus(db, t.id, status, {
              actor: null,
              reason: o.reason ?? null,
              now: new Date(),
            })
            cli.output.out(`tenant ${t.name}: ${r.status}${r.changed ? '' : ' (unchanged)'}`)
            return 0
          }),
        ),
      )
  }
}
