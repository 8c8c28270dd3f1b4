/**
 * The operator's list routes (GET /v1/payments, GET /v1/sms): operator keys only, filters applied in SQL on
 * both databases, and nothing of another tenant ever listed.
 */
import t from 'tap'
import { type ReconcilerAdapterDeps, reconcilerPort } from '../../src/api/adapters.js'
import type { Db } from '../../src/db/types.js'
import { forEachDatabase } from '../support/databases.js'
import { call, makeApi, makeWorld } from './support.js'

const HOUR = 3_600_000

async function insertPayment(
  db: Db,
  p: {
    txId: string
    tenantId: string
    merchantId: string
    deviceId: string
    state: string
    at: number
    holdUntil?: number
  },
): Promise<void> {
  await db.query(
    `INSERT INTO offline_payments (tx_id, tenant_id, wallet_id, merchant_id, device_id, purse_id, amount, currency,
       counter, token, token_hash, state, funded_from, first_received_at, hold_until, updated_at)
     VALUES ($1, $2, '00000000000000ff', $3, $4, 'p1', 250, 'EUR', 1, $5, $1, $6, 'escrow', $7, $8, $7)`,
    [
      p.txId,
      p.tenantId,
      p.merchantId,
      p.deviceId,
      new Uint8Array([1]),
      p.state,
      new Date(p.at),
      p.holdUntil === undefined ? null : new Date(p.holdUntil),
    ],
  )
}

t.test('GET /v1/payments filters in SQL and stays in the tenant', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    const port = reconcilerPort({ db } as unknown as ReconcilerAdapterDeps)
    // Relative to the real clock: these rows are read back, never compared with a fixed date.
    const now = Date.now()
    const a = 'aaaaaaaaaaaaaaaa'
    const b = 'bbbbbbbbbbbbbbbb'
    await insertPayment(db, {
      txId: 'tx-1',
      tenantId: a,
      merchantId: 'm1',
      deviceId: 'd1',
      state: 'held',
      at: now - 3 * HOUR,
      holdUntil: now + 5 * HOUR,
    })
    await insertPayment(db, {
      txId: 'tx-2',
      tenantId: a,
      merchantId: 'm1',
      deviceId: 'd2',
      state: 'held',
      at: now - HOUR,
      holdUntil: now + HOUR,
    })
    await insertPayment(db, {
      txId: 'tx-3',
      tenantId: a,
      merchantId: 'm2',
      deviceId: 'd3',
      state: 'approved',
      at: now - 2 * HOUR,
    })
    await insertPayment(db, {
      txId: 'tx-4',
      tenantId: b,
      merchantId: 'm1',
      deviceId: 'd1',
      state: 'held',
      at: now,
      holdUntil: now,
    })

    const all = await port.tenantPayments(a, { limit: 100 })
    t.same(
      all.map((p) => p.txId),
      ['tx-2', 'tx-3', 'tx-1'],
      'newest first, only tenant a',
    )
    const held = await port.tenantPayments(a, { status: 'held', limit: 100 })
    t.same(
      held.map((p) => p.txId),
      ['tx-2', 'tx-1'],
      'held: soonest auto-approval first',
    )
    t.same(
      (await port.tenantPayments(a, { status: 'auto_approved', limit: 100 })).map((p) => p.txId),
      ['tx-3'],
      'API status names map to stored states',
    )
    t.same(
      (await port.tenantPayments(a, { merchantId: 'm1', deviceId: 'd2', limit: 100 })).map((p) => p.txId),
      ['tx-2'],
    )
    t.same((await port.tenantPayments(a, { limit: 1 })).length, 1)
    t.same((await port.tenantPayments(b, { merchantId: 'm2', limit: 100 })).length, 0)
  })
})

t.test('the operator list routes: roles, validation, SMS outbox per tenant', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    const api = makeApi(db)
    const w = await makeWorld(api, 'ops')
    const other = await makeWorld(api, 'others')

    const r = await call(api.app, 'GET', `/v1/payments?status=held&merchantId=${w.merchantId}`, w.operator)
    t.equal(r.status, 200)
    t.ok(
      api.reconciler.calls.includes(`payments ${w.tenantId} held ${w.merchantId} *`),
      'the filter reaches the port with the key’s tenant',
    )
    t.equal(
      (await call(api.app, 'GET', '/v1/payments', w.merchantKey)).status,
      403,
      'merchants use their own route',
    )
    t.equal((await call(api.app, 'GET', '/v1/payments?status=lost', w.operator)).status, 400)

    for (const [tenantId, body, status] of [
      [w.tenantId, 'opg: 2.50 EUR paid offline', 'sent'],
      [w.tenantId, 'opg: 1.00 EUR paid offline', 'failed'],
      [other.tenantId, 'opg: secret of another tenant', 'pending'],
    ] as const) {
      await db.query(
        `INSERT INTO sms_outbox (id, tenant_id, idempotency_key, to_number, body, status, attempts, last_error)
         VALUES (gen_random_uuid(), $1, $2, '+15550001111', $2, $3, 1, $4)`,
        [tenantId, body, status, status === 'failed' ? 'provider down' : null],
      )
    }
    const sms = await call(api.app, 'GET', '/v1/sms', w.operator)
    t.equal(sms.status, 200)
    t.equal(sms.body.messages.length, 2, 'only the tenant’s own messages')
    t.notOk(JSON.stringify(sms.body).includes('another tenant'))
    const failed = await call(api.app, 'GET', '/v1/sms?status=failed', w.operator)
    t.match(failed.body.messages, [{ status: 'failed', lastError: 'provider down', attempts: 1 }])
    t.equal(failed.body.messages.length, 1)
    t.equal((await call(api.app, 'GET', '/v1/sms', w.walletKey)).status, 403)
  })
})
