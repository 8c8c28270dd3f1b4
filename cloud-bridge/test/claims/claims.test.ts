import t from 'tap'
import { call, makeApi, makeWorld } from '../api/support.js'
import { forEachDatabase } from '../support/databases.js'

const TX = '01890a5d-ac96-774b-bcce-b302099a8057'
const TX2 = '01890a5d-ac96-774b-bcce-b302099a8058'

t.test('fraud claims', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    const api = makeApi(db)
    const w = await makeWorld(api, 'claims')
    api.reconciler.add(w.tenantId, {
      txId: TX,
      walletId: w.walletId,
      merchantId: w.merchantId,
      status: 'held',
    })
    api.reconciler.add(w.tenantId, {
      txId: TX2,
      walletId: w.walletId,
      merchantId: w.merchantId,
      status: 'reversed',
    })
    const file = (txId: string, key = w.walletKey) =>
      call(api.app, 'POST', `/v1/wallets/${w.walletId}/claims`, key, { txId, reason: 'I was not there' })

    let claimId = ''
    await t.test('the payer files a claim: the payment is disputed', async (t) => {
      const r = await file(TX)
      t.equal(r.status, 201)
      t.match(r.body, { txId: TX, walletId: w.walletId, status: 'open', reason: 'I was not there' })
      claimId = r.body.id
      t.ok(api.reconciler.calls.includes(`dispute ${w.tenantId} ${TX}`))
      const p = await call(api.app, 'GET', `/v1/payments/${TX}`, w.walletKey)
      t.equal(p.body.status, 'claimed')
      const h = await call(api.app, 'GET', `/v1/wallets/${w.walletId}/history`, w.walletKey)
      t.same(
        h.body.payments.map((x: { txId: string; status: string }) => [x.txId, x.status]),
        [
          [TX, 'claimed'],
          [TX2, 'reversed'],
        ],
      )
    })

    await t.test('a second claim on the same payment is a conflict', async (t) => {
      const r = await file(TX)
      t.equal(r.status, 409)
      t.equal(r.body.error.code, 'conflict')
    })

    await t.test('a payment already reversed cannot be claimed', async (t) => {
      const r = await file(TX2)
      t.equal(r.status, 409)
      t.equal(r.body.error.code, 'claim_not_allowed')
    })

    await t.test('an unknown payment is 404', async (t) => {
      const r = await file('01890a5d-ac96-774b-bcce-b30209900000')
      t.equal(r.status, 404)
    })

    await t.test('the wallet lists its own claims; the operator all, filtered by status', async (t) => {
      const mine = await call(api.app, 'GET', '/v1/claims', w.walletKey)
      t.same(
        mine.body.claims.map((c: { id: string }) => c.id),
        [claimId],
      )
      const open = await call(api.app, 'GET', '/v1/claims?status=open', w.operator)
      t.equal(open.body.claims.length, 1)
      const done = await call(api.app, 'GET', '/v1/claims?status=reversed', w.operator)
      t.equal(done.body.claims.length, 0)
    })

    await t.test('only an operator resolves; reverse goes through reconciliation once', async (t) => {
      // The alerts the reconciler raised for this claim and for another payment's (the fake does not write any).
      for (const txId of [TX, TX2])
        await db.query(
          `INSERT INTO operator_alerts (kind, tenant_id, tx_id, detail, created_at) VALUES ('claim', $1, $2, '{}', now())`,
          [w.tenantId, txId],
        )
      const byWallet = await call(api.app, 'POST', `/v1/claims/${claimId}/resolve`, w.walletKey, {
        decision: 'reverse',
      })
      t.equal(byWallet.status, 403)
      const r = await call(api.app, 'POST', `/v1/claims/${claimId}/resolve`, w.operator, {
        decision: 'reverse',
        note: 'box camera shows nobody',
      })
      t.equal(r.status, 200)
      t.match(r.body, { status: 'reversed', note: 'box camera shows nobody' })
      t.ok(r.body.resolvedAt)
      t.ok(api.reconciler.calls.includes(`resolve ${w.tenantId} ${TX} reverse`))
      const p = await call(api.app, 'GET', `/v1/payments/${TX}`, w.operator)
      t.equal(p.body.status, 'reversed')
      const again = await call(api.app, 'POST', `/v1/claims/${claimId}/resolve`, w.operator, {
        decision: 'uphold',
      })
      t.equal(again.status, 409)
      t.equal(again.body.error.code, 'claim_closed')
      t.equal(api.reconciler.calls.filter((c) => c.startsWith('resolve')).length, 1)
      const open = await db.query<{ tx_id: string }>(
        `SELECT tx_id FROM operator_alerts WHERE tenant_id = $1 AND kind = 'claim' AND acknowledged_at IS NULL`,
        [w.tenantId],
      )
      t.same(
        open.rows.map((r) => r.tx_id),
        [TX2],
        "the decision acknowledges its claim's alert, not another payment's",
      )
    })
  })
})
