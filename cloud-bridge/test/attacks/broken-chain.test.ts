// Attack: a forked hash chain. Two tokens at different counters can still prove a double spend: the token at
// counter n+1 names a previous token that is not the one the bridge knows at n (or a chain start that is not its
// certificate's). The bridge did not check continuity before.
import t from 'tap'
import { forEachDatabase } from '../support/databases.js'
import { arena } from './arena.js'

t.setTimeout(300_000)

t.test('broken hash chain: the forked token is kept as proof and its merchant paid at release', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    const a = await arena(db)
    const m1 = await a.shop('M1')
    const m2 = await a.shop('M2')
    const w = await a.wallet(2000)
    const first = a.sign(w, m1, 400, { counter: 1 })
    const unseen = a.sign(w, m1, 1, { counter: 1 }) // signed, never shown to the bridge
    const fork = a.sign(w, m2, 600, { counter: 2, prevHash: a.link(unseen) })
    await a.box(m1, [{ bytes: first.bytes, amount: 400 }])
    const ack = await a.box(m2, [{ bytes: fork.bytes, amount: 600 }])
    t.same(ack.rejected, [{ tx: fork.txId, code: 'bad_chain' }])
    t.ok(await a.frozen(w.id))
    const proof = await db.query<{ kind: string; honoured_tx_id: string }>(
      'SELECT kind, honoured_tx_id FROM double_spend_proofs WHERE tenant_id = $1',
      [a.tenantId],
    )
    t.same(proof.rows, [{ kind: 'broken_chain', honoured_tx_id: first.txId }])
    await a.endOfPurses()
    t.equal(await a.bal('merchant_wallet', m2.merchantId), 600)
    t.equal(await a.bal('wallet_available', w.id), 1000)
    await a.check(t, 1)
  })
})

t.test('a first token that does not start from its certificate is a broken chain', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    const a = await arena(db)
    const m = await a.shop('M')
    const w = await a.wallet(1000)
    const honest = a.sign(w, m, 100, { counter: 1 })
    const bad = a.sign(w, m, 100, { counter: 1, prevHash: a.link(honest) })
    const ack = await a.box(m, [{ bytes: bad.bytes, amount: 100 }])
    t.same(ack.rejected, [{ tx: bad.txId, code: 'bad_chain' }])
    await a.endOfPurses()
    t.equal(await a.bal('merchant_wallet', m.merchantId), 100, 'escrow still pays the receipt')
    await a.check(t, 1)
  })
})

t.test('an honest chain arriving out of order is accepted', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    const a = await arena(db)
    const m = await a.shop('M')
    const w = await a.wallet(1000)
    const p1 = w.pay(m.merchantId, m.deviceId, 100)
    const p2 = w.pay(m.merchantId, m.deviceId, 200)
    const p3 = w.pay(m.merchantId, m.deviceId, 300)
    const ack = await a.box(m, [
      { bytes: p3.bytes, amount: 300 },
      { bytes: p1.bytes, amount: 100 },
      { bytes: p2.bytes, amount: 200 },
    ])
    t.same(ack.rejected, [])
    t.equal(ack.accepted.length, 3)
    t.notOk(await a.frozen(w.id))
    await a.check(t, 0)
  })
})
