// Attack: two different tokens of one wallet under one tx id. The bridge names a payment by its signed body, so
// the second token is neither a replay nor thrown away: it is a double spend with proof, kept, the wallet frozen,
// and the merchant who took it is paid by the escrow rule at purse release.
import t from 'tap'
import { forEachDatabase } from '../support/databases.js'
import { arena } from './arena.js'

t.setTimeout(300_000)

t.test('shared tx id across merchants: T2 by wallet log first, then T1 by QR at box A', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    const a = await arena(db)
    const shopA = await a.shop('Box A shop')
    const shopB = await a.shop('Other shop')
    const w = await a.wallet(1000) // a 10.00 purse
    const t1 = a.sign(w, shopA, 900, { counter: 1 })
    const t2 = a.sign(w, shopB, 1, { txId: t1.txId, counter: 2, prevHash: a.link(t1) })

    const log = await a.walletLog(w, [t2.bytes])
    t.equal(log[0]?.outcome, 'accepted', 'T2 confirmed from the wallet log')
    const ack = await a.box(shopA, [{ bytes: t1.bytes, amount: 900 }])
    t.same(ack.accepted, [], 'T1 is not honoured as a payment…')
    t.same(ack.rejected, [{ tx: t1.txId, code: 'double_spend' }], '…and the box is told it is a double spend')

    const [kept] = await a.refused()
    t.match(kept, { txId: t1.txId, reason: 'double_spend', source: 'box', proofOf: t2.txId, valid: true })
    t.same(Buffer.from(kept!.token), Buffer.from(t1.bytes), 'T1 kept byte for byte')
    t.ok(await a.frozen(w.id), 'wallet frozen')
    const proofs = await db.query<{ kind: string }>(
      'SELECT kind FROM double_spend_proofs WHERE tenant_id = $1',
      [a.tenantId],
    )
    t.same(
      proofs.rows.map((r) => r.kind),
      ['same_tx_id'],
    )

    const again = await a.box(shopA, [{ bytes: t1.bytes }])
    t.same(
      again.rejected,
      [{ tx: t1.txId, code: 'double_spend' }],
      're-delivery: the same answer, nothing new',
    )

    await a.endOfPurses()
    t.equal(await a.bal('merchant_wallet', shopA.merchantId), 900, 'box A made whole from the escrow')
    t.equal(await a.bal('merchant_wallet', shopB.merchantId), 1)
    t.equal(await a.bal('wallet_available', w.id), 99, 'only what is left after both returns to the payer')
    t.equal(await a.bal('purse_escrow', w.id), 0)
    await a.check(t, 1)
  })
})

t.test('shared tx id at one merchant: the second token is kept and paid at release', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    const a = await arena(db)
    const shop = await a.shop('Corner')
    const w = await a.wallet(1000)
    const first = a.sign(w, shop, 500, { counter: 1 })
    const second = a.sign(w, shop, 300, { txId: first.txId, counter: 2, prevHash: a.link(first) })
    const ack = await a.box(shop, [
      { bytes: first.bytes, amount: 500 },
      { bytes: second.bytes, amount: 300 },
    ])
    t.same(ack.accepted, [first.txId])
    t.same(ack.rejected, [{ tx: first.txId, code: 'double_spend' }])
    t.ok(await a.frozen(w.id))
    t.equal(await a.bal('merchant_held', shop.merchantId), 500, 'the first is held as usual')
    await a.endOfPurses()
    t.equal(await a.bal('merchant_wallet', shop.merchantId), 800, 'both receipts paid')
    t.equal(await a.bal('wallet_available', w.id), 200)
    await a.check(t, 1)
  })
})

t.test('another wallet reusing a known tx id cannot pre-empt the honest payment', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    const a = await arena(db)
    const shop = await a.shop('Bakery')
    const elsewhere = await a.shop('Elsewhere')
    const honest = await a.wallet(1000)
    const thief = await a.wallet(1000)
    const real = a.sign(honest, shop, 700, { counter: 1 })
    const squat = a.sign(thief, elsewhere, 1, { txId: real.txId, counter: 1 })
    await a.walletLog(thief, [squat.bytes])
    const ack = await a.box(shop, [{ bytes: real.bytes, amount: 700 }])
    t.same(ack.rejected, [{ tx: real.txId, code: 'replay' }], 'the tx id is taken')
    t.notOk(await a.frozen(honest.id), 'the honest wallet is not frozen')
    const [kept] = await a.refused()
    t.match(kept, { txId: real.txId, reason: 'replay', proofOf: real.txId })
    await a.endOfPurses()
    t.equal(await a.bal('merchant_wallet', shop.merchantId), 700, 'paid from the honest purse at release')
    t.equal(await a.bal('wallet_available', honest.id), 300)
    await a.check(t, 1)
  })
})
