/**
 * The attack catalogue: every way a customer (or a thief, or a replaying bystander) might try to get goods
 * for a token that should not pay, each rejected with its stable code — and nothing stored for it.
 */
import { decodeQrText, encodeQrText, generateSigningKeyPair, sealEnvelope } from '@opg/protocol'
import t from 'tap'
import { c, NOW_MS, qrFor, TestWallet } from './fixtures.js'
import { makeRig } from './setup.js'

t.test('a good QR token is accepted with a verifiable receipt', async (t) => {
  const rig = makeRig()
  const w = new TestWallet(rig.world)
  const token = w.token(1_250)
  const out = await rig.acceptor.accept({ qrText: qrFor(rig.world, token) })
  t.ok(out.ok)
  if (!out.ok) return
  t.equal(out.receipt.txId, token.txId)
  t.equal(out.receipt.amount, 1_250)
  t.equal(rig.vault.stats().unsyncedCount, 1)
  const { decodeReceipt, verifyReceipt } = await import('@opg/protocol')
  t.doesNotThrow(() =>
    verifyReceipt(c, decodeReceipt(out.receipt.bytes), rig.world.nodeSigning.publicKey, token),
  )
})

const cases: { name: string; code: string; run: (rig: ReturnType<typeof makeRig>) => Promise<unknown> }[] = [
  {
    name: 'forged wallet signature (token signed by another key)',
    code: 'bad_signature',
    run: async (rig) => {
      const w = new TestWallet(rig.world)
      const thief = generateSigningKeyPair(c)
      return rig.acceptor.accept({ qrText: qrFor(rig.world, w.token(100, { signer: thief.secretKey })) })
    },
  },
  {
    name: 'forged wallet certificate (signed by an issuer the box does not trust)',
    code: 'unknown_key',
    run: async (rig) => {
      const w = new TestWallet(rig.world, { issuer: generateSigningKeyPair(c) })
      return rig.acceptor.accept({ qrText: qrFor(rig.world, w.token(100)) })
    },
  },
  {
    name: 'tampered amount (bytes changed after signing)',
    code: 'bad_signature',
    run: async (rig) => {
      const w = new TestWallet(rig.world)
      const bytes = w.token(100).bytes.slice()
      bytes[1 + 16 + 132 + 16 + 3] = 0xff // low byte of the big-endian amount
      return rig.acceptor.accept({ qrText: qrFor(rig.world, bytes) })
    },
  },
  {
    name: 'tampered envelope ciphertext',
    code: 'bad_tag',
    run: async (rig) => {
      const w = new TestWallet(rig.world)
      const env = decodeQrText(qrFor(rig.world, w.token(100))).slice()
      env[60] = env[60]! ^ 0x01
      return rig.acceptor.accept({ qrText: encodeQrText(env) })
    },
  },
  {
    name: 'token sealed to another box',
    code: 'unknown_key',
    run: async (rig) => {
      const w = new TestWallet(rig.world)
      const other = c.x25519PublicKey(c.randomBytes(32))
      return rig.acceptor.accept({ qrText: encodeQrText(sealEnvelope(c, other, w.token(100).bytes)) })
    },
  },
  {
    name: 'token for another merchant',
    code: 'wrong_merchant',
    run: async (rig) => {
      const w = new TestWallet(rig.world)
      return rig.acceptor.accept({
        qrText: qrFor(rig.world, w.token(100, { merchantId: 'aaaaaaaaaaaaaaaa' })),
      })
    },
  },
  {
    name: 'token for another device of the same merchant',
    code: 'wrong_device',
    run: async (rig) => {
      const w = new TestWallet(rig.world)
      return rig.acceptor.accept({ qrText: qrFor(rig.world, w.token(100, { deviceId: 'bbbbbbbbbbbbbbbb' })) })
    },
  },
  {
    name: 'expired wallet certificate',
    code: 'expired',
    run: async (rig) => {
      const nowS = Math.floor(NOW_MS / 1000)
      const w = new TestWallet(rig.world, { issuedAt: nowS - 7_200, expiresAt: nowS - 60 })
      return rig.acceptor.accept({ qrText: qrFor(rig.world, w.token(100)) })
    },
  },
  {
    name: 'certificate that expires while the token waits (trusted clock moved on)',
    code: 'expired',
    run: async (rig) => {
      const w = new TestWallet(rig.world)
      const qr = qrFor(rig.world, w.token(100))
      rig.clock.ms = NOW_MS + 72 * 3_600_000
      return rig.acceptor.accept({ qrText: qr })
    },
  },
  {
    name: 'revoked wallet',
    code: 'revoked',
    run: async (rig) => {
      const w = new TestWallet(rig.world)
      rig.view.setRevoked([w.cert.walletId], 1)
      return rig.acceptor.accept({ qrText: qrFor(rig.world, w.token(100)) })
    },
  },
  {
    name: 'over the per-payment limit',
    code: 'over_limit',
    run: async (rig) => {
      const w = new TestWallet(rig.world, { perPaymentLimit: 1_000 })
      return rig.acceptor.accept({ qrText: qrFor(rig.world, w.token(1_001)) })
    },
  },
  {
    name: 'wrong session challenge over BLE',
    code: 'bad_challenge',
    run: async (rig) => {
      const w = new TestWallet(rig.world)
      const token = w.token(100, { challenge: c.randomBytes(8) })
      return rig.acceptor.accept({ bleToken: token.bytes, challenge: c.randomBytes(8) })
    },
  },
  {
    name: 'garbage QR text',
    code: 'bad_prefix',
    run: async (rig) => rig.acceptor.accept({ qrText: 'https://example.com/pay?eur=10' }),
  },
]

for (const k of cases) {
  t.test(`rejects: ${k.name}`, async (t) => {
    const rig = makeRig()
    const out = (await k.run(rig)) as { ok: boolean; code?: string }
    t.equal(out.ok, false)
    t.equal(out.code, k.code)
    t.equal(rig.vault.stats().records, 0, 'nothing stored')
    t.same(
      rig.signals.map((s) => s.kind),
      ['rejected'],
      'the merchant sees a rejection',
    )
  })
}

t.test('rejects a replayed token, whether re-shown or re-sealed', async (t) => {
  const rig = makeRig()
  const w = new TestWallet(rig.world)
  const token = w.token(500)
  const qr = qrFor(rig.world, token)
  t.ok((await rig.acceptor.accept({ qrText: qr })).ok)
  t.match(await rig.acceptor.accept({ qrText: qr }), { ok: false, code: 'replay' })
  t.match(await rig.acceptor.accept({ qrText: qrFor(rig.world, token) }), { ok: false, code: 'replay' })
  t.equal(rig.vault.stats().records, 1)
})

t.test('rejects a second token at a used counter (double spend)', async (t) => {
  const rig = makeRig()
  const w = new TestWallet(rig.world)
  t.ok((await rig.acceptor.accept({ qrText: qrFor(rig.world, w.token(500)) })).ok)
  w.counter-- // the wallet re-signs a different payment at the same counter
  t.match(await rig.acceptor.accept({ qrText: qrFor(rig.world, w.token(700)) }), {
    ok: false,
    code: 'replay',
  })
})

t.test('rejects spending beyond the purse across payments', async (t) => {
  const rig = makeRig()
  const w = new TestWallet(rig.world, { perPaymentLimit: 5_000, purseAmount: 12_000 })
  t.ok((await rig.acceptor.accept({ qrText: qrFor(rig.world, w.token(5_000)) })).ok)
  t.ok((await rig.acceptor.accept({ qrText: qrFor(rig.world, w.token(5_000)) })).ok)
  t.match(await rig.acceptor.accept({ qrText: qrFor(rig.world, w.token(2_001)) }), {
    ok: false,
    code: 'over_purse',
  })
  t.ok((await rig.acceptor.accept({ qrText: qrFor(rig.world, w.token(2_000)) })).ok, 'the rest is spendable')
})

t.test('exposure caps: unsynced total and per wallet per day', async (t) => {
  const rig = makeRig({ maxUnsyncedTotal: 3_000, maxPerWalletPerDay: 1_500 })
  const a = new TestWallet(rig.world)
  const b = new TestWallet(rig.world)
  const d = new TestWallet(rig.world)
  t.ok((await rig.acceptor.accept({ qrText: qrFor(rig.world, a.token(1_000)) })).ok)
  t.match(await rig.acceptor.accept({ qrText: qrFor(rig.world, a.token(600)) }), {
    ok: false,
    code: 'exposure_cap',
  })
  t.ok((await rig.acceptor.accept({ qrText: qrFor(rig.world, b.token(1_500)) })).ok)
  t.match(await rig.acceptor.accept({ qrText: qrFor(rig.world, d.token(600)) }), {
    ok: false,
    code: 'exposure_cap',
  })
  // Once the bridge acknowledges, the unsynced exposure frees up again.
  await rig.vault.markSynced((await rig.vault.unsynced()).map((p) => p.txId))
  t.ok((await rig.acceptor.accept({ qrText: qrFor(rig.world, d.token(600)) })).ok)
  // A new UTC day resets the per-wallet cap.
  rig.clock.ms = NOW_MS + 86_400_000
  t.ok((await rig.acceptor.accept({ qrText: qrFor(rig.world, a.token(600)) })).ok)
})

t.test('rejects a currency the box does not take', async (t) => {
  const rig = makeRig()
  const w = new TestWallet(rig.world, { currency: 'USD' })
  t.match(await rig.acceptor.accept({ qrText: qrFor(rig.world, w.token(100)) }), {
    ok: false,
    code: 'wrong_currency',
  })
})

t.test('BLE token with the session challenge is accepted', async (t) => {
  const rig = makeRig()
  const w = new TestWallet(rig.world)
  const challenge = c.randomBytes(8)
  const out = await rig.acceptor.accept({ bleToken: w.token(300, { challenge }).bytes, challenge })
  t.ok(out.ok)
  t.equal((await rig.vault.unsynced())[0]?.channel, 'ble')
})
