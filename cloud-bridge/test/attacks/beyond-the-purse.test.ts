// Attack: spending beyond the purse, and signing counters outside the purse's reserved range
// (counterBase < counter ≤ counterBase + purse amount). The merchant who took the refused token is paid from the
// escrow left, then from the wallet's balance; what neither covers is an `unfunded` loss the operator sees.
import t from 'tap'
import { forEachDatabase } from '../support/databases.js'
import { arena } from './arena.js'

t.setTimeout(300_000)

t.test(
  'token beyond the purse: escrow, then wallet balance, then unfunded (listed and alerted)',
  async (t) => {
    await forEachDatabase(t, async (t, db) => {
      const a = await arena(db)
      const m1 = await a.shop('M1')
      const m2 = await a.shop('M2')
      const w = await a.wallet(1000, { balance: 150 })
      const p1 = w.pay(m1.merchantId, m1.deviceId, 600)
      const p2 = w.pay(m2.merchantId, m2.deviceId, 600)
      await a.box(m1, [{ bytes: p1.bytes, amount: 600 }])
      const ack = await a.box(m2, [{ bytes: p2.bytes, amount: 600 }])
      t.same(ack.rejected, [{ tx: p2.txId, code: 'over_purse' }])
      t.ok(await a.frozen(w.id))
      await a.endOfPurses()
      const [r] = await a.refused()
      t.match(r, {
        reason: 'over_purse',
        settleState: 'unfunded',
        paidEscrow: 400,
        paidWallet: 150,
        unfunded: 50,
      })
      t.equal(await a.bal('merchant_wallet', m2.merchantId), 550)
      t.equal(await a.bal('wallet_available', w.id), 0, 'the wallet keeps nothing of it')
      t.equal(await a.bal('purse_escrow', w.id), 0)
      await a.check(t, 1)
    })
  },
)

t.test('counter outside the purse range is refused, kept, and paid by the escrow rule', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    const a = await arena(db)
    const m = await a.shop('M')
    const w = await a.wallet(1000, { counterBase: 50 })
    const beyond = a.sign(w, m, 10, { counter: 50 + 1000 + 1 })
    const ack = await a.box(m, [{ bytes: beyond.bytes, amount: 10 }])
    t.same(ack.rejected, [{ tx: beyond.txId, code: 'bad_counter' }])
    t.ok(await a.frozen(w.id), 'a counter the purse never reserved proves the wallet misbehaved')
    const proof = await db.query<{ kind: string }>(
      'SELECT kind FROM double_spend_proofs WHERE tenant_id = $1',
      [a.tenantId],
    )
    t.same(
      proof.rows.map((r) => r.kind),
      ['counter_range'],
    )
    const atTop = a.sign(w, m, 10, { counter: 50 + 1000, prevHash: a.link(beyond) })
    t.same(
      (await a.box(m, [{ bytes: atTop.bytes, amount: 10 }])).accepted,
      [atTop.txId],
      'the last counter is in range',
    )
    await a.endOfPurses()
    t.equal(await a.bal('merchant_wallet', m.merchantId), 20)
    await a.check(t, 1)
  })
})
