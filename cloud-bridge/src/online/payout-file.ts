/**
 * The payout file of a batch, for the tenant's bank or accounting: one CSV row per merchant line (RFC 4180,
 * CRLF). Amounts appear twice — as a decimal money amount in the currency's own digits (500 JPY → "500",
 * 1250 EUR → "12.50", from the money module) and as integer minor units, so a reader can check one
 * against the other and no tool has to guess the exponent.
 */
import { toDecimalString } from '@opg/protocol'
import type { Queryable } from '../db/types.js'
import { getPayout } from './payouts.js'

const HEADER = [
  'payout_id',
  'batch_key',
  'status',
  'merchant_id',
  'merchant_name',
  'bank_account_ref',
  'currency',
  'amount',
  'amount_minor',
  'invoice_minor',
  'wallet_minor',
  'invoice_payments',
]

/** One CSV field: quoted when it holds a comma, quote or line break; a leading =,+,-,@ is defused for spreadsheets. */
function field(v: string): string {
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe
}

/** The CSV payout file of one batch of the tenant. */
export async function payoutFile(q: Queryable, tenantId: string, payoutId: string): Promise<string> {
  const p = await getPayout(q, tenantId, payoutId)
  const { rows } = await q.query<{ id: string; name: string }>(
    'SELECT id, name FROM merchants WHERE tenant_id = $1 AND id = ANY($2::text[])',
    [tenantId, p.lines.map((l) => l.merchantId)],
  )
  const names = new Map(rows.map((r) => [r.id, r.name]))
  const lines = [HEADER.join(',')]
  for (const l of p.lines) {
    lines.push(
      [
        p.id,
        p.batchKey ?? '',
        p.status,
        l.merchantId,
        names.get(l.merchantId) ?? '',
        l.bankAccountRef ?? '',
        p.currency,
        toDecimalString(l.amount, p.currency),
        l.amount.toString(),
        l.invoiceAmount.toString(),
        l.walletAmount.toString(),
        String(l.paymentIds.length),
      ]
        .map(field)
        .join(','),
    )
  }
  return `${lines.join('\r\n')}\r\n`
}
