/**
 * What the operator commands print, on data (no bridge): the fleet's risk order, money in tables, refused
 * tokens (GET /v1/refused-tokens is served by another module; its documented shape is used here), payouts.
 */
import { renderTable } from '@opg/protocol/cli'
import t from 'tap'
import {
  ago,
  byRisk,
  type FleetDevice,
  holdColumns,
  paymentColumns,
  paymentsJson,
  type RefusedToken,
  refusedColumns,
} from '../../src/cli/operator-format.js'
import { formatPayout, payoutJson } from '../../src/cli/payouts.js'
import type { Payout } from '../../src/online/payouts.js'

const NOW = Date.parse('2030-01-01T12:00:00Z') // a fixed instant: these are pure functions of it

function box(id: string, o: Partial<FleetDevice>): FleetDevice {
  return {
    id,
    merchantId: 'm',
    label: id,
    certified: true,
    certExpiresAt: null,
    lastSeenAt: '2030-01-01T11:59:00Z',
    online: true,
    modemNumber: null,
    pendingCount: 0,
    revoked: false,
    ...o,
  }
}

t.test('the fleet sorts riskiest first', async (t) => {
  const list = [
    box('fine', {}),
    box('busy', { pendingCount: 9 }),
    box('quiet-offline', { online: false, lastSeenAt: '2030-01-01T10:00:00Z' }),
    box('offline-holding', { online: false, pendingCount: 3 }),
    box('revoked', { revoked: true }),
    box('never', { online: false, lastSeenAt: null }),
  ]
  t.same(
    list.sort(byRisk).map((d) => d.id),
    ['revoked', 'offline-holding', 'never', 'quiet-offline', 'busy', 'fine'],
  )
  t.equal(ago('2030-01-01T11:57:00Z', NOW), '3 min')
  t.equal(ago(null, NOW), 'never')
  t.equal(ago('2029-12-29T12:00:00Z', NOW), '3 d')
})

const payment = {
  txId: '0193',
  walletId: 'w',
  merchantId: 'm',
  deviceId: 'd',
  amount: 300,
  currency: 'EUR',
  counter: 1,
  status: 'held',
  firstSeenAt: '2030-01-01T11:00:00Z',
  holdUntil: '2030-01-01T14:00:00Z',
}

t.test('payments and holds read as money; JSON names the unit', async (t) => {
  const table = renderTable(
    [payment, { ...payment, txId: '0194', amount: 500, currency: 'JPY' }],
    paymentColumns(),
  )
  t.match(table, '3.00 EUR')
  t.match(table, '500 JPY')
  t.notMatch(table, /\b300 EUR\b/)
  t.match(renderTable([payment], holdColumns(NOW)), /2030-01-01T14:00:00Z │ 2 h/)
  t.match(paymentsJson([payment]), [{ amountMinor: 300, currency: 'EUR' }])
  t.notOk('amount' in paymentsJson([payment])[0]!)
})

t.test('refused tokens show reason, source and amount', async (t) => {
  const r: RefusedToken = {
    id: 'r1',
    txId: '0195',
    walletId: 'w',
    merchantId: 'm',
    deviceId: 'd',
    amountMinor: 1250,
    currency: 'EUR',
    reason: 'double_spend',
    source: 'box',
    receivedAt: '2030-01-01T11:00:00Z',
    tokenB64: 'AAAA',
  }
  const table = renderTable(
    [r, { ...r, id: 'r2', amountMinor: null, currency: null, txId: null }],
    refusedColumns(),
  )
  t.match(table, /double_spend\s+│ box\s+│\s+12\.50 EUR/)
  t.match(table, /│\s+\? │ \?/, 'an unreadable token still gets a row')
})

t.test('payouts: money for people, minor units in JSON', async (t) => {
  const p: Payout = {
    id: 'po1',
    batchKey: null,
    testMode: false,
    currency: 'EUR',
    status: 'built',
    createdAt: new Date(NOW),
    paidAt: null,
    lines: [
      {
        merchantId: 'm1',
        amount: 300n,
        invoiceAmount: 300n,
        walletAmount: 0n,
        heldAmount: 0n,
        reservedAmount: 0n,
        bankAccountRef: 'acct_1',
        paymentIds: ['a'],
      },
      {
        merchantId: 'm2',
        amount: 123456n,
        invoiceAmount: 100000n,
        walletAmount: 23456n,
        heldAmount: 500n,
        reservedAmount: 1000n,
        bankAccountRef: null,
        paymentIds: ['b', 'c'],
      },
    ],
  }
  t.same(formatPayout(p), [
    'payout po1 1,237.56 EUR built',
    '  merchant m1 3.00 EUR (invoices 3.00 EUR, released offline/QR 0.00 EUR) to acct_1: a',
    '  merchant m2 1,234.56 EUR (invoices 1,000.00 EUR, released offline/QR 234.56 EUR) to (no bank account): b c',
  ])
  t.match(payoutJson(p).lines, [{ amountMinor: 300 }, { amountMinor: 123456 }])
})
