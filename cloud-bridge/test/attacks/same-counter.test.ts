// Attack: a cloned wallet spends one counter twice (issue: "who keeps the escrow"). The first token the bridge
// receives is honoured; the second is kept as proof and its merchant is paid from the escrow that is left before
// anything returns to the double spender.
import t from 'tap'
import { forEachDatabase } from '../support/databases.js'
import { arena } from './arena.js'

t.setTimeout(300_000)

t.test('same counter twice at two merchants: both paid from the escrow', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    const a = await arena(db)
    const m1 = await a.shop('M1')
    const m2 = await a.shop('M2')
    const w = await a.wallet(2000)
    const x = a.sign(w, m1, 500, { counter: 1 })
    const y = a.sign(w, m2, 500, { counter: 1 })
    t.same((await a.box(m1, [{ bytes: x.bytes, amount: 500 }])).accepted, [x.txId])
    const ack = await a.box(m2, [{ bytes: y.bytes, amount: 500 }])
    t.same(ack.rejected, [{ tx: y.txId, code: 'double_spend' }])
    t.ok(await a.frozen(w.id))
    const [kept] = await a.refused()
    t.match(kept, { txId: y.txId, proofOf: x.txId, settleState: 'pending' })
    const { released } = await a.endOfPurses()
    t.equal(released, 1)
    t.equal(await a.bal('merchant_wallet', m1.merchantId), 500)
    t.equal(await a.bal('merchant_wallet', m2.merchantId), 500, 'M2 paid from the escrow, not left short')
    t.equal(
      await a.bal('wallet_available', w.id),
      1000,
      'the double spender gets back only the true leftover',
    )
    const [settled] = await a.refused()
    t.match(settled, { settleState: 'paid', paidEscrow: 500, paidWallet: 0, unfunded: 0 })
    await a.check(t, 1)
  })
})
