/**
 * The operator's commands against a running bridge's HTTP API (URL and operator key from flags or the
 * environment, never the database): fleet, payments, holds, claims, refused, sms, tenants, keys. Lists print
 * as a table on a terminal and as JSON otherwise (or with --json; --table forces the table).
 */
import { action, type Column, jsonOption, printList, subcommand } from '@opg/protocol/cli'
import { type Command, Option } from 'commander'
import { type ApiFlags, type BridgeCli, query } from './context.js'
import {
  type ApiPayment,
  byRisk,
  type FleetDevice,
  fleetColumns,
  holdColumns,
  paymentColumns,
  paymentsJson,
  type RefusedToken,
  refusedColumns,
} from './operator-format.js'

/** A subcommand that talks to the API: the connection and output flags, the same everywhere. */
export function apiCommand(parent: Command, spec: string, description: string, examples: string[]): Command {
  return subcommand(parent, spec, description, examples)
    .option('--url <url>', "the bridge's API base URL (env OPG_BRIDGE_URL)")
    .option('--operator-key <key>', 'an operator API key of the tenant (env OPG_OPERATOR_KEY)')
    .addOption(jsonOption())
    .option('--table', 'print a table even when stdout is not a terminal')
}

const Limit = () => new Option('--limit <n>', 'at most this many').default('100')

export function addOperatorCommands(program: Command, cli: BridgeCli): void {
  const now = () => Date.now()

  apiCommand(program, 'fleet', 'boxes: state, last seen (sync lag), pending payments; riskiest first', [
    'opg-bridge fleet --url https://bridge.example --operator-key opg_…',
    'opg-bridge fleet --json | jq ".devices[] | select(.online == false)"',
  ]).action(
    action(async (o: ApiFlags) => {
      const r = await cli.api<{ devices: FleetDevice[] }>(o, 'GET', 'v1/fleet')
      const rows = [...r.devices].sort(byRisk)
      printList(cli.output, o, {
        key: 'devices',
        data: rows,
        rows,
        columns: fleetColumns(now()),
        empty: 'no boxes',
      })
      return 0
    }),
  )

  apiCommand(program, 'payments', 'offline payments of the tenant, newest first', [
    'opg-bridge payments --status claimed',
    'opg-bridge payments --merchant 00000000000000aa --box 00000000000000d1 --limit 20',
  ])
    .addOption(
      new Option('--status <status>', 'only this status').choices([
        'held',
        'confirmed',
        'auto_approved',
        'claimed',
        'reversed',
        'upheld',
        'double_spend',
        'unfunded',
      ]),
    )
    .option('--merchant <id>', 'only this merchant')
    .option('--box <id>', 'only this box (device id)')
    .addOption(Limit())
    .action(
      action(async (o: ApiFlags & { status?: string; merchant?: string; box?: string; limit: string }) => {
        const q = query({ status: o.status, merchantId: o.merchant, deviceId: o.box, limit: o.limit })
        const r = await cli.api<{ payments: ApiPayment[] }>(o, 'GET', `v1/payments${q}`)
        printList(cli.output, o, {
          key: 'payments',
          data: paymentsJson(r.payments),
          rows: r.payments,
          columns: paymentColumns(),
          empty: 'no payments',
        })
        return 0
      }),
    )

  apiCommand(program, 'holds', 'held payments and when each auto-approves (soonest first)', [
    'opg-bridge holds',
  ])
    .addOption(Limit())
    .action(
      action(async (o: ApiFlags & { limit: string }) => {
        const r = await cli.api<{ payments: ApiPayment[] }>(
          o,
          'GET',
          `v1/payments${query({ status: 'held', limit: o.limit })}`,
        )
        printList(cli.output, o, {
          key: 'holds',
          data: paymentsJson(r.payments),
          rows: r.payments,
          columns: holdColumns(now()),
          empty: 'nothing held',
        })
        return 0
      }),
    )

  addClaimCommands(program, cli)

  apiCommand(program, 'refused', 'refused tokens, with the reason and the signed token kept as proof', [
    'opg-bridge refused',
    'opg-bridge refused --json | jq ".items[] | select(.reason == \\"double_spend\\")"',
  ]).action(
    action(async (o: ApiFlags) => {
      const r = await cli.api<{ items: RefusedToken[] }>(o, 'GET', 'v1/refused-tokens')
      printList(cli.output, o, {
        key: 'items',
        data: r.items,
        rows: r.items,
        columns: refusedColumns(),
        empty: 'nothing refused',
      })
      return 0
    }),
  )

  apiCommand(program, 'sms', 'the SMS outbox and each message’s delivery state', [
    'opg-bridge sms --status failed',
  ])
    .addOption(new Option('--status <status>', 'only this state').choices(['pending', 'sent', 'failed']))
    .addOption(Limit())
    .action(
      action(async (o: ApiFlags & { status?: string; limit: string }) => {
        type Sms = {
          id: string
          to: string
          body: string
          status: string
          attempts: number
          lastError: string | null
          createdAt: string
        }
        const r = await cli.api<{ messages: Sms[] }>(
          o,
          'GET',
          `v1/sms${query({ status: o.status, limit: o.limit })}`,
        )
        const columns: Column<Sms>[] = [
          { head: 'created', cell: (m) => m.createdAt },
          { head: 'to', cell: (m) => m.to },
          { head: 'state', cell: (m) => `${m.status}${m.attempts > 1 ? ` (${m.attempts} attempts)` : ''}` },
          { head: 'text', cell: (m) => m.body },
          { head: 'last error', cell: (m) => m.lastError ?? '' },
        ]
        printList(cli.output, o, {
          key: 'messages',
          data: r.messages,
          rows: r.messages,
          columns,
          empty: 'no SMS',
        })
        return 0
      }),
    )

  apiCommand(program, 'tenants', "the operator key's tenant (one key sees one tenant)", [
    'opg-bridge tenants',
  ]).action(
    action(async (o: ApiFlags) => {
      type T = { id: string; name: string; currency: string }
      const t = await cli.api<T>(o, 'GET', 'v1/tenant')
      const rows = [t]
      const columns: Column<T>[] = [
        { head: 'id', cell: (x) => x.id },
        { head: 'name', cell: (x) => x.name },
        { head: 'currency', cell: (x) => x.currency },
      ]
      printList(cli.output, o, { key: 'tenants', data: rows, rows, columns, empty: '' })
      return 0
    }),
  )

  apiCommand(program, 'keys', "the tenant's API keys (never their secrets)", ['opg-bridge keys']).action(
    action(async (o: ApiFlags) => {
      type K = {
        id: string
        role: string
        subjectId: string | null
        label: string
        createdAt: string
        revokedAt: string | null
      }
      const r = await cli.api<{ keys: K[] }>(o, 'GET', 'v1/keys')
      const columns: Column<K>[] = [
        { head: 'id', cell: (k) => k.id },
        { head: 'role', cell: (k) => k.role },
        { head: 'subject', cell: (k) => k.subjectId ?? '' },
        { head: 'label', cell: (k) => k.label },
        { head: 'created', cell: (k) => k.createdAt },
        { head: 'revoked', cell: (k) => k.revokedAt ?? '' },
      ]
      printList(cli.output, o, { key: 'keys', data: r.keys, rows: r.keys, columns, empty: 'no keys' })
      return 0
    }),
  )
}

function addClaimCommands(program: Command, cli: BridgeCli): void {
  type Claim = {
    id: string
    txId: string
    walletId: string
    reason: string
    status: string
    filedAt: string
    note: string | null
  }
  const claims = program.command('claims').description("payers' disputes: list them, decide them")
  apiCommand(claims, 'list', 'claims of the tenant', ['opg-bridge claims list --status open'])
    .addOption(new Option('--status <status>', 'only this state').choices(['open', 'reversed', 'upheld']))
    .action(
      action(async (o: ApiFlags & { status?: string }) => {
        const r = await cli.api<{ claims: Claim[] }>(o, 'GET', `v1/claims${query({ status: o.status })}`)
        const columns: Column<Claim>[] = [
          { head: 'claim', cell: (c) => c.id },
          { head: 'tx', cell: (c) => c.txId },
          { head: 'wallet', cell: (c) => c.walletId },
          { head: 'state', cell: (c) => c.status },
          { head: 'filed', cell: (c) => c.filedAt },
          { head: 'reason', cell: (c) => c.reason },
        ]
        printList(cli.output, o, {
          key: 'claims',
          data: r.claims,
          rows: r.claims,
          columns,
          empty: 'no claims',
        })
        return 0
      }),
    )
  apiCommand(
    claims,
    'resolve <claim-id>',
    'decide a claim: reverse refunds the payer, uphold pays the merchant',
    ["opg-bridge claims resolve 0193… --decision reverse --note 'card skimmer at the shop'"],
  )
    .addOption(
      new Option('--decision <decision>', 'the decision')
        .choices(['reverse', 'uphold'])
        .makeOptionMandatory(),
    )
    .option('--note <text>', 'why (kept with the claim)')
    .action(
      action(async (claimId: string, o: ApiFlags & { decision: string; note?: string }) => {
        const c = await cli.api<Claim>(o, 'POST', `v1/claims/${encodeURIComponent(claimId)}/resolve`, {
          decision: o.decision,
          ...(o.note ? { note: o.note } : {}),
        })
        cli.output.out(o.json ? JSON.stringify(c) : `claim ${c.id} on ${c.txId}: ${c.status}`)
        return 0
      }),
    )
}
