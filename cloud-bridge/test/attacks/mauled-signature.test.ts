// Attack: a mauled signature offered as proof. Replacing S by S + L gives different bytes for the same signed
// body; a lenient verifier would call it a second token and frame the wallet. Strict verification refuses it as
// a bad signature (kept, with its reason), and it proves nothing: no proof, no freeze, the payment untouched.

import { ED25519_L } from '@opg/protocol'
import t from 'tap'
import { forEachDatabase } from '../support/databases.js'
import { arena } from './arena.js'

t.setTimeout(300_000)

function maul(token: Uint8Array): Uint8Array {
  const out = token.slice()
  let s = 0n
  for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(out[out.length - 32 + i]!)
  s += ED25519_L
  for (let i = 0; i < 32; i++) out[out.length - 32 + i] = Number((s >> BigInt(8 * i)) & 0xffn)
  return out
}

t.test('mauled signature offered as proof, by a box and by a wallet log', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    const a = await arena(db)
    const m = await a.shop('M')
    const w = await a.wallet(1000)
    const p = w.pay(m.merchantId, m.deviceId, 250)
    await a.box(m, [{ bytes: p.bytes, amount: 250 }])
    const mauled = maul(p.bytes)
    const ack = await a.box(m, [{ bytes: mauled }], { receipted: false })
    t.same(ack.rejected, [{ tx: p.txId, code: 'bad_signature' }])
    const log = await a.walletLog(w, [mauled])
    t.match(log[0], { outcome: 'rejected', code: 'bad_signature' })
    t.notOk(await a.frozen(w.id), 'nobody can frame a wallet')
    const proofs = await db.query('SELECT 1 FROM double_spend_proofs WHERE tenant_id = $1', [a.tenantId])
    t.equal(proofs.rows.length, 0)
    const [kept] = await a.refused()
    t.match(kept, { reason: 'bad_signature', valid: false, txId: p.txId, settleState: 'none' })
    t.equal((await a.reconciler.getPayment(a.tenantId, p.txId))?.state, 'held', 'the real payment stands')
    await a.endOfPurses()
    t.equal(await a.bal('merchant_wallet', m.merchantId), 250)
    await a.check(t, 1)
  })
})
