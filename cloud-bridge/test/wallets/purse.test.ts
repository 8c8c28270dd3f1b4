import t from 'tap'
import { checkInvariants } from '../../src/ledger/index.js'
import { call, makeApi, makeWorld } from '../api/support.js'
import { forEachDatabase } from '../support/databases.js'

t.test('offline purse loading', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    const api = makeApi(db)
    const w = await makeWorld(api, 'purses')
    const base = `/v1/wallets/${w.walletId}`
    const credit = await call(api.app, 'POST', `${base}/credit`, w.operator, {
      amount: 10_000,
      ref: 'card-1',
    })
    t.same(credit.body, { currency: 'EUR', available: 10_000, escrow: 0 })

    await t.test('loading moves the amount into escrow and returns a signed certificate', async (t) => {
      const r = await call(api.app, 'POST', `${base}/purses`, w.walletKey, {
        amount: 2500,
        perPaymentLimit: 500,
      })
      t.equal(r.status, 201)
      t.match(r.body, {
        walletId: w.walletId,
        amount: 2500,
        perPaymentLimit: 500,
        currency: 'EUR',
        counterBase: 0,
      })
      t.equal(Date.parse(r.body.expiresAt) - Date.parse(r.body.issuedAt), 72 * 3600 * 1000, 'valid 72 h')
      t.ok(r.body.certificate.length > 0)
      const signed = api.issuer.signed.at(-1)!
      t.equal(signed.kind, 'wallet')
      t.match(signed.fields, {
        walletId: w.walletId,
        purseAmount: '2500',
        perPaymentLimit: '500',
        counterBase: '0',
      })
      const wallet = await call(api.app, 'GET', base, w.walletKey)
      t.equal(signed.fields.publicKey, Buffer.from(wallet.body.publicKey, 'base64url').toString('hex'))
      const bal = await call(api.app, 'GET', `${base}/balance`, w.walletKey)
      t.same(bal.body, { currency: 'EUR', available: 7500, escrow: 2500 })
    })

    await t.test('the next purse continues the counters: no counter is ever reused', async (t) => {
      const r = await call(api.app, 'POST', `${base}/purses`, w.walletKey, { amount: 1000, ttlSeconds: 3600 })
      t.equal(r.status, 201)
      t.equal(r.body.counterBase, 2500)
      t.equal(r.body.counterEnd, 3500)
      t.equal(r.body.perPaymentLimit, 1000, 'limit defaults to the purse amount')
      t.equal(Date.parse(r.body.expiresAt) - Date.parse(r.body.issuedAt), 3600 * 1000)
      const list = await call(api.app, 'GET', `${base}/purses`, w.operator)
      t.same(
        list.body.purses.map((p: { counterBase: number; counterEnd: number }) => [
          p.counterBase,
          p.counterEnd,
        ]),
        [
          [2500, 3500],
          [0, 2500],
        ],
      )
    })

    await t.test('a purse beyond the balance is refused and nothing moves', async (t) => {
      const r = await call(api.app, 'POST', `${base}/purses`, w.walletKey, { amount: 6501 })
      t.equal(r.status, 409)
      t.equal(r.body.error.code, 'insufficient_funds')
      const bal = await call(api.app, 'GET', `${base}/balance`, w.walletKey)
      t.same(bal.body, { currency: 'EUR', available: 6500, escrow: 3500 })
      t.equal((await call(api.app, 'GET', base, w.walletKey)).body.nextCounter, 3500)
    })

    await t.test('validity over 72 h and a limit above the amount are refused', async (t) => {
      const long = await call(api.app, 'POST', `${base}/purses`, w.walletKey, {
        amount: 10,
        ttlSeconds: 72 * 3600 + 1,
      })
      t.equal(long.status, 400)
      const limit = await call(api.app, 'POST', `${base}/purses`, w.walletKey, {
        amount: 10,
        perPaymentLimit: 11,
      })
      t.equal(limit.status, 400)
      t.equal(limit.body.error.code, 'invalid_request')
    })

    await t.test('a frozen wallet cannot load; unfrozen it can again', async (t) => {
      const f = await call(api.app, 'POST', `${base}/freeze`, w.operator, { reason: 'lost phone' })
      t.match(f.body, { frozen: true, frozenReason: 'lost phone' })
      const r = await call(api.app, 'POST', `${base}/purses`, w.walletKey, { amount: 100 })
      t.equal(r.status, 409)
      t.equal(r.body.error.code, 'wallet_frozen')
      const u = await call(api.app, 'POST', `${base}/unfreeze`, w.operator)
      t.match(u.body, { frozen: false, frozenReason: null })
      t.equal((await call(api.app, 'POST', `${base}/purses`, w.walletKey, { amount: 100 })).status, 201)
    })

    await t.test('concurrent loads get disjoint counter ranges and never overdraw', async (t) => {
      const before = await call(api.app, 'GET', `${base}/balance`, w.walletKey)
      const rs = await Promise.all(
        [1, 2, 3, 4].map(() => call(api.app, 'POST', `${base}/purses`, w.walletKey, { amount: 2000 })),
      )
      const ok = rs.filter((r) => r.status === 201)
      t.equal(ok.length, Math.floor(before.body.available / 2000))
      t.ok(rs.every((r) => r.status === 201 || r.body.error.code === 'insufficient_funds'))
      const ranges = ok
        .map((r) => [r.body.counterBase, r.body.counterEnd] as const)
        .sort((x, y) => x[0] - y[0])
      for (let i = 1; i < ranges.length; i++)
        t.ok(ranges[i]![0] >= ranges[i - 1]![1], 'ranges do not overlap')
      const after = await call(api.app, 'GET', `${base}/balance`, w.walletKey)
      t.equal(after.body.available, before.body.available - 2000 * ok.length)
    })

    await t.test('only the wallet itself loads its purse', async (t) => {
      const r = await call(api.app, 'POST', `${base}/purses`, w.operator, { amount: 100 })
      t.equal(r.status, 403)
    })

    t.same(await checkInvariants(db), [], 'ledger invariants hold')
  })
})
