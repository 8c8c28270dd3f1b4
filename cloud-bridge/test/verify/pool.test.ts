// Token verification at the bridge: the worker pool and the inline verifier give the same answers.
import { newId8 } from '@opg/protocol'
import t from 'tap'
import { InlineVerifier, VerifyPool } from '../../src/verify/pool.js'
import type { VerifyContext } from '../../src/verify/verify-token.js'
import { c, makeIssuer, TestWallet } from './fixtures.js'

const issuer = makeIssuer()
const merchantId = newId8(c)
const deviceId = newId8(c)
const tenantId = newId8(c)
const nowS = Math.floor(Date.now() / 1000)
const ctx: VerifyContext = {
  tenantId,
  issuerKeys: issuer.keyring,
  nowS,
  graceS: 72 * 3600,
  merchantId,
  deviceId,
}

function sample() {
  const w = new TestWallet(issuer, { purse: 5000, limit: 1000 })
  const good = Array.from({ length: 20 }, () => w.pay(merchantId, deviceId, 100).bytes)
  const tampered = w.pay(merchantId, deviceId, 100).bytes.slice()
  tampered[tampered.length - 1]! ^= 1
  const otherDevice = w.pay(merchantId, newId8(c), 100).bytes
  const overLimit = w.pay(merchantId, deviceId, 1001).bytes
  const foreign = new TestWallet(makeIssuer()).pay(merchantId, deviceId, 100).bytes
  return { w, good, bad: [tampered, otherDevice, overLimit, foreign, Uint8Array.of(1, 2, 3)] }
}

const expectedCodes = ['bad_signature', 'wrong_device', 'over_limit', 'unknown_key', 'bad_type']

for (const [name, make] of [
  ['inline', async () => ({ v: new InlineVerifier(), stop: async () => {} })],
  [
    'worker pool',
    async () => {
      const p = new VerifyPool({ size: 2, minChunk: 4 })
      await p.start()
      return { v: p, stop: () => p.stop() }
    },
  ],
] as const) {
  t.test(name, async (t) => {
    const { v, stop } = await make()
    t.teardown(stop)
    const { w, good, bad } = sample()
    const res = await v.verify([...good, ...bad], ctx)
    t.equal(res.length, good.length + bad.length)
    t.ok(
      res.slice(0, good.length).every((r) => r.ok),
      'every good token verifies',
    )
    const first = res[0]
    t.ok(
      first?.ok && first.facts.walletId === w.id && first.facts.amount === 100 && first.facts.counter === 1,
    )
    t.ok(first?.ok && first.facts.purseId === `${w.id}:0` && first.facts.purseAmount === 5000)
    t.same(
      res.slice(good.length).map((r) => (r.ok ? 'ok' : r.code)),
      expectedCodes,
    )
    const tam = res[good.length]
    t.ok(tam && !tam.ok && tam.txId !== null, 'a decodable refused token keeps its tx id for the ack')
  })
}

t.test('certificate expiry: accepted within the grace, refused after', async (t) => {
  const v = new InlineVerifier()
  const issued = nowS - 10 * 3600
  const w = new TestWallet(issuer, { issuedAtS: issued, ttlS: 3600 })
  const tok = w.pay(merchantId, deviceId, 10).bytes
  const exp = issued + 3600
  const at = async (s: number) => (await v.verify([tok], { ...ctx, nowS: s }))[0]
  t.ok((await at(exp - 1))?.ok)
  t.ok((await at(exp + 72 * 3600 - 1))?.ok, 'late upload within grace')
  const late = await at(exp + 72 * 3600)
  t.same(late && !late.ok && late.code, 'expired')
})

t.test('a stopped pool refuses work', async (t) => {
  const p = new VerifyPool({ size: 1 })
  await t.rejects(p.verify([], ctx), { code: 'not_started' })
  await p.start()
  await p.stop()
  await t.rejects(p.verify([Uint8Array.of(1)], ctx), { code: 'not_started' })
})
