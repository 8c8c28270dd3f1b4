// Attack: a wallet log naming a merchant or device that is not in the tenant, or a device of another merchant.
// Wallet logs are checked like box batches: refused with a typed code, kept, and no money moves.

import { newId8 } from '@opg/protocol'
import t from 'tap'
import { forEachDatabase } from '../support/databases.js'
import { c } from '../verify/fixtures.js'
import { arena } from './arena.js'

t.setTimeout(300_000)

t.test('wallet log naming a foreign merchant or device', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    const a = await arena(db)
    const m1 = await a.shop('M1')
    const m2 = await a.shop('M2')
    const w = await a.wallet(1000)
    const ghost = { merchantId: newId8(c), deviceId: newId8(c), secret: new Uint8Array(16) }
    const unknownMerchant = w.pay(ghost.merchantId, m1.deviceId, 100)
    const unknownDevice = w.pay(m1.merchantId, ghost.deviceId, 100)
    const mismatched = w.pay(m1.merchantId, m2.deviceId, 100)
    const fine = w.pay(m1.merchantId, m1.deviceId, 100)
    const out = await a.walletLog(w, [
      unknownMerchant.bytes,
      unknownDevice.bytes,
      mismatched.bytes,
      fine.bytes,
    ])
    t.same(
      out.map((o) => [o.outcome, o.code]),
      [
        ['rejected', 'wrong_merchant'],
        ['rejected', 'wrong_device'],
        ['rejected', 'wrong_device'],
        ['accepted', null],
      ],
    )
    const refused = await a.refused()
    t.same(refused.map((r) => [r.reason, r.source, r.valid]).sort(), [
      ['wrong_device', 'wallet_log', true],
      ['wrong_device', 'wallet_log', true],
      ['wrong_merchant', 'wallet_log', true],
    ])
    t.equal(await a.bal('merchant_wallet', m1.merchantId), 100, 'only the proper token moved money')
    t.equal(await a.bal('merchant_wallet', m2.merchantId), 0)
    t.equal(await a.bal('purse_escrow', w.id), 900)
    const again = await a.walletLog(w, [unknownMerchant.bytes])
    t.equal(again[0]?.code, 'wrong_merchant', 'a re-upload gets the same answer')
    await a.check(t, 3)
  })
})

t.test('a token pasted into another wallet’s log cannot pre-empt its box', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    const a = await arena(db)
    const m = await a.shop('M')
    const honest = await a.wallet(1000)
    const other = await a.wallet(1000)
    const p = honest.pay(m.merchantId, m.deviceId, 300)
    const out = await a.walletLog(other, [p.bytes])
    t.match(out[0], { outcome: 'rejected', code: 'wrong_wallet' })
    const ack = await a.box(m, [{ bytes: p.bytes, amount: 300 }])
    t.same(ack.accepted, [p.txId], 'the box’s delivery is honoured')
    t.notOk(await a.frozen(honest.id))
    await a.endOfPurses()
    t.equal(await a.bal('merchant_wallet', m.merchantId), 300)
    await a.check(t, 1)
  })
})

t.test('one upload holding the same refused bytes twice is a typed answer, kept once', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    const a = await arena(db)
    const m = await a.shop('M')
    const w = await a.wallet(1000)
    const ghost = w.pay(newId8(c), m.deviceId, 100)
    const junk = new Uint8Array([0x20])
    const out = await a.walletLog(w, [ghost.bytes, junk, ghost.bytes, junk])
    t.same(
      out.map((o) => [o.outcome, o.code]),
      [
        ['rejected', 'wrong_merchant'],
        ['rejected', 'bad_type'],
        ['rejected', 'wrong_merchant'],
        ['rejected', 'bad_type'],
      ],
      'every copy gets its answer',
    )
    t.same((await a.refused()).map((r) => r.reason).sort(), ['bad_type', 'wrong_merchant'], 'each kept once')
    t.equal(await a.bal('purse_escrow', w.id), 1000, 'no money moved')
    await a.check(t, 2)
  })
})
