// What opg-node prints for people, on data: status words that match the bridge's, money through formatMoney,
// and no bare minor-unit amount on any line.
import { linesWithBareAmounts } from '@opg/testkit/money-lines.js'
import t from 'tap'
import { formatOutcome, formatProgress, formatReport } from '../src/cli/format.js'
import type { NodeReport } from '../src/node/opg-node.js'

const report: NodeReport = {
  deviceId: '00000000000000d1',
  running: true,
  online: true,
  pendingCount: 2,
  pendingAmount: { EUR: 1250, JPY: 500 },
  payments: 5,
  lastSyncAt: Date.parse('2030-01-01T00:00:00Z'),
  clock: { ms: Date.parse('2030-01-01T00:00:00Z'), source: 'unsynced' },
  revocationVersion: -1,
  commandsRefused: 0,
  confirmations: { recent: [], refused: 0 } as unknown as NodeReport['confirmations'],
  refused: {
    count: 1,
    recent: [{ txId: 'tx-1', code: 'double_spend', amount: 900, currency: 'EUR', acceptedAt: 0 }],
  },
  damagedPayments: 0,
  storage: { journalDamage: [], tornBytes: 0, alerts: [] },
  version: '0.1.0',
}

t.test('status reads like the bridge and shows money', async (t) => {
  const text = formatReport(report)
  t.match(text, /pending\s+2 payment\(s\) not yet at the bridge: 12\.50 EUR, 500 JPY/)
  t.match(text, /stored\s+5 payment\(s\) in this box's vault, 3 acknowledged by the bridge/)
  t.match(
    text,
    /REFUSED double_spend\s+9\.00 EUR\s+tx tx-1/,
    'a refused payment is listed as money, not lost',
  )
  t.notMatch(text, /\bheld\b/, "'held' is the bridge's word for something else")
  t.match(text, /online; waiting for the bridge to send the time/, 'not "(unsynced)" while online')
  const idle = formatReport({ ...report, pendingCount: 0, pendingAmount: {}, online: false, running: false })
  t.match(idle, /pending\s+0 payment\(s\) not yet at the bridge: nothing/)
  const lines = [
    text,
    idle,
    formatOutcome({ ok: true, receipt: { txId: 't', amount: 250, currency: 'EUR', bytes: '00' } }),
    formatProgress({ acked: 1, ackedTotal: 1, pendingCount: 1, pendingAmount: { EUR: 700 } }),
  ]
  t.match(lines[2], 'ACCEPTED 2.50 EUR')
  t.same(linesWithBareAmounts(lines), [], 'no bare minor units next to a currency code')
})
