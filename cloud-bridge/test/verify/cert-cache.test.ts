// Purse certificates verified once: a cached certificate saves its issuer check only for the very same bytes
// under the very same issuer key, never past a retired key, an eviction or the validity period.
import {
  chainStart,
  decodeWalletCertificate,
  generateSigningKeyPair,
  newId8,
  signDomain,
  signToken,
  uuidv7,
} from '@opg/protocol'
import t from 'tap'
import { CertCache } from '../../src/verify/cert-cache.js'
import { InlineVerifier, VerifyPool } from '../../src/verify/pool.js'
import type { VerifyContext } from '../../src/verify/verify-token.js'
import { c, makeIssuer, TestWallet } from './fixtures.js'

const issuer = makeIssuer()
const merchantId = newId8(c)
const deviceId = newId8(c)
const ctx: VerifyContext = {
  tenantId: newId8(c),
  issuerKeys: issuer.keyring,
  nowS: Math.floor(Date.now() / 1000),
  graceS: 72 * 3600,
  merchantId,
  deviceId,
}

t.test('one issuer check per purse, one per token for the wallet', async (t) => {
  const v = new InlineVerifier()
  const a = new TestWallet(issuer, { purse: 5000, limit: 100 })
  const b = new TestWallet(issuer, { purse: 5000, limit: 100 })
  const tokens = Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).pay(merchantId, deviceId, 10).bytes)
  const res = await v.verify(tokens, ctx)
  t.ok(
    res.every((r) => r.ok),
    'every token verifies',
  )
  t.equal(v.certs!.misses, 2, 'each purse certificate verified once')
  t.equal(v.certs!.hits, 28)
  t.equal(v.certs!.size, 2)
})

t.test('a forged certificate with the same body and another signature is not a cache hit', async (t) => {
  const v = new InlineVerifier()
  const w = new TestWallet(issuer, { purse: 5000, limit: 100 })
  const good = await v.verify([w.pay(merchantId, deviceId, 10).bytes], ctx)
  t.ok(good[0]?.ok, 'the genuine certificate is cached')
  const body = w.cert.bytes.subarray(0, w.cert.bytes.length - 64)
  // The same body signed by a key that is not the issuer's; and the genuine signature with one bit flipped.
  const otherKey = generateSigningKeyPair(c)
  const flipped = w.cert.bytes.slice()
  flipped[flipped.length - 1]! ^= 1
  for (const [name, bytes] of [
    [
      'signed by another key',
      Uint8Array.from([...body, ...signDomain(c, otherKey.secretKey, 'wallet-cert', body)]),
    ],
    ['signature bit flipped', flipped],
  ] as const) {
    const forged = decodeWalletCertificate(bytes)
    const token = signToken(c, w.keys.secretKey, forged, {
      txId: uuidv7(c),
      merchantId,
      deviceId,
      amount: 10,
      counter: 1,
      prevHash: chainStart(c, forged),
      walletTime: ctx.nowS,
    })
    const misses = v.certs!.misses
    const [r] = await v.verify([token.bytes], ctx)
    t.equal(r?.ok === false && r.code, 'bad_signature', `${name}: refused`)
    t.equal(v.certs!.misses, misses + 1, `${name}: verified on its own, not served from the cache`)
  }
  t.equal(v.certs!.size, 1, 'no forged certificate was cached')
})

t.test(
  'a retired issuer key: the cached certificates of its purses are not honoured, and evicted',
  async (t) => {
    const v = new InlineVerifier()
    const w = new TestWallet(issuer, { purse: 5000, limit: 100 })
    const [first] = await v.verify([w.pay(merchantId, deviceId, 10).bytes], ctx)
    t.ok(first?.ok)
    t.equal(v.certs!.size, 1)
    // The tenant rotated to a new key and retired the old one: the keyring no longer holds it.
    const next = makeIssuer()
    const [after] = await v.verify([w.pay(merchantId, deviceId, 10).bytes], {
      ...ctx,
      issuerKeys: next.keyring,
    })
    t.equal(after?.ok === false && after.code, 'unknown_key', 'a token of the revoked purse is refused')
    t.equal(v.certs!.size, 0, 'its entry is evicted')
    t.equal(v.certs!.hits, 0)
  },
)

t.test('validity is checked on every hit; expired past the grace is refused', async (t) => {
  const v = new InlineVerifier()
  const w = new TestWallet(issuer, { purse: 5000, limit: 100, ttlS: 3600 })
  const [ok] = await v.verify([w.pay(merchantId, deviceId, 10).bytes], ctx)
  t.ok(ok?.ok)
  const late = { ...ctx, nowS: w.cert.expiresAt + 10 }
  const [grace] = await v.verify([w.pay(merchantId, deviceId, 10).bytes], late)
  t.ok(grace?.ok, 'inside the grace after expiry')
  const past = { ...ctx, nowS: w.cert.expiresAt + ctx.graceS + 1 }
  const [expired] = await v.verify([w.pay(merchantId, deviceId, 10).bytes], past)
  t.equal(
    expired?.ok === false && expired.code,
    'expired',
    'a cached certificate does not outlive its period',
  )
  t.equal(v.certs!.misses, 1, 'all three used one issuer check')
})

t.test(
  'forget evicts a wallet or an issuer key; the cache is bounded, least recently used first',
  async (t) => {
    const cache = new CertCache(3)
    const ws = Array.from({ length: 4 }, () => new TestWallet(issuer, { purse: 100 }))
    for (const w of ws.slice(0, 3)) cache.verify(c, w.cert, issuer.keyring, ctx.nowS)
    cache.verify(c, ws[0]!.cert, issuer.keyring, ctx.nowS) // ws[0] now most recently used
    cache.verify(c, ws[3]!.cert, issuer.keyring, ctx.nowS) // evicts ws[1]
    t.equal(cache.size, 3)
    const misses = cache.misses
    cache.verify(c, ws[0]!.cert, issuer.keyring, ctx.nowS)
    t.equal(cache.misses, misses, 'the recently used one stayed')
    cache.verify(c, ws[1]!.cert, issuer.keyring, ctx.nowS)
    t.equal(cache.misses, misses + 1, 'the least recently used one was evicted')
    t.equal(cache.forget({ walletId: ws[0]!.id }), 1)
    t.equal(cache.forget({ issuerKeyId: ws[1]!.cert.issuerKeyId }), 2)
    t.equal(cache.size, 0)
  },
)

t.test('the worker pool caches per worker and forgets in every worker', async (t) => {
  const p = new VerifyPool({ size: 2, minChunk: 4 })
  await p.start()
  t.teardown(() => p.stop())
  const w = new TestWallet(issuer, { purse: 5000, limit: 100 })
  const res = await p.verify(
    Array.from({ length: 16 }, () => w.pay(merchantId, deviceId, 10).bytes),
    ctx,
  )
  t.ok(res.every((r) => r.ok))
  await p.forget({ walletId: w.id })
  const [again] = await p.verify([w.pay(merchantId, deviceId, 10).bytes], ctx)
  t.ok(again?.ok, 'a forgotten certificate is verified again, not refused')
  const [revoked] = await p.verify([w.pay(merchantId, deviceId, 10).bytes], {
    ...ctx,
    issuerKeys: makeIssuer().keyring,
  })
  t.equal(revoked?.ok === false && revoked.code, 'unknown_key')
})
