/**
 * The wallet core's behaviour, written once and run with each crypto backend (core-node.test.ts,
 * core-noble.test.ts): the portable backend must behave exactly like node:crypto.
 */
import {
  type CryptoBackend,
  chainStart,
  decodeQrText,
  decodeToken,
  fromHex,
  generateSigningKeyPair,
  makeKeyring,
  openEnvelope,
  signReceipt,
  toHex,
  tokenHash,
  verifyToken,
} from '@opg/protocol'
import type { Test } from 'tap'
import { payOverBle } from '../../src/core/ble-pay.js'
import { WalletError } from '../../src/core/errors.js'
import { type Signer, softwareSigner } from '../../src/core/signer.js'
import { MemoryStorage } from '../../src/core/storage.js'
import { Wallet } from '../../src/core/wallet.js'
import { FakeBoxChannel } from './fake-box.js'
import { makeBox, PowerCutStorage, T0_S, world } from './fixtures.js'

async function rejectsCode(t: Test, p: Promise<unknown> | (() => unknown), code: string, msg: string) {
  try {
    await (typeof p === 'function' ? p() : p)
    t.fail(`${msg}: expected WalletError ${code}, it succeeded`)
  } catch (err) {
    t.ok(err instanceof WalletError, `${msg}: a WalletError`)
    t.equal((err as WalletError).code, code, msg)
  }
}

/** A signer that remembers every message it signed, to prove no counter is ever signed twice differently. */
function recordingSigner(c: CryptoBackend): Signer & { signed: Uint8Array[] } {
  const inner = softwareSigner(c, c.randomBytes(32))
  const signed: Uint8Array[] = []
  return {
    publicKey: inner.publicKey,
    signed,
    async sign(m) {
      signed.push(m.slice())
      return inner.sign(m)
    },
  }
}

export function coreSuite(t: Test, c: CryptoBackend): void {
  t.test('pay by QR: the box can open, verify and chain the tokens', async (t) => {
    const w = world(c)
    const wallet = await Wallet.create({
      crypto: c,
      storage: new MemoryStorage(),
      now: w.clock.now,
      issuerKeys: w.keyring,
    })
    await rejectsCode(t, wallet.pay({ to: w.box.sticker, amount: 100 }), 'no_purse', 'no purse yet')
    const status = await wallet.installPurse(w.issuePurse(wallet.publicKey))
    t.match(status, { remaining: 10000, spent: 0, perPaymentLimit: 5000, nextCounter: 101, currency: 'EUR' })

    const p1 = await wallet.pay({ to: w.box.sticker, amount: 1250 })
    const p2 = await wallet.pay({ to: w.box.sticker, amount: 300 })
    t.ok(p1.qrText.startsWith('OPG1:'), 'QR text has the OPG1: prefix')
    t.ok(/^OPG1:[0-9A-Z $%*+\-./:]+$/.test(p1.qrText), 'QR text stays in the alphanumeric alphabet')
    const tokens = [p1, p2].map((p) => decodeToken(openEnvelope(c, w.box.encryption, decodeQrText(p.qrText))))
    for (const tok of tokens) {
      verifyToken(c, tok, {
        issuerKeys: w.keyring,
        nowS: T0_S,
        merchantId: '00000000000000aa',
        deviceId: '00000000000000d1',
      })
    }
    t.same([tokens[0]!.counter, tokens[1]!.counter], [101, 102], 'counters follow the purse base')
    t.equal(toHex(tokens[0]!.prevHash), toHex(chainStart(c, tokens[0]!.cert)), 'first token starts the chain')
    t.equal(toHex(tokens[1]!.prevHash), toHex(tokenHash(c, tokens[0]!)), 'second token links to the first')
    t.equal(tokens[0]!.amount, 1250)
    t.match(wallet.purse(), { remaining: 8450, spent: 1550, nextCounter: 103 })
    t.same(
      wallet.log().map((e) => [e.txId, e.counter, e.amount, e.merchantName]),
      [
        [p1.txId, 101, 1250, 'Corner Cafe'],
        [p2.txId, 102, 300, 'Corner Cafe'],
      ],
    )
    t.equal(wallet.unsynced().length, 2)
    const reshown = wallet.payment(p1.txId)
    t.not(reshown.qrText, p1.qrText, 'sealed afresh')
    t.equal(
      toHex(decodeToken(openEnvelope(c, w.box.encryption, decodeQrText(reshown.qrText))).bytes),
      toHex(p1.token.bytes),
      'showing a payment again shows the same token',
    )
    await rejectsCode(
      t,
      wallet.installPurse(tokens[0]!.cert.bytes),
      'bad_certificate',
      'a used purse certificate cannot be installed again (it would reset the remaining amount)',
    )
    t.equal(wallet.purse()?.remaining, 8450)
    await wallet.markSynced([{ txId: p1.txId, outcome: 'accepted' }])
    t.same(
      wallet.unsynced().map((e) => e.txId),
      [p2.txId],
      'synced entries leave the upload queue',
    )
  })

  t.test('refusals carry stable codes', async (t) => {
    const w = world(c)
    const wallet = await Wallet.create({
      crypto: c,
      storage: new MemoryStorage(),
      now: w.clock.now,
      issuerKeys: w.keyring,
    })
    await wallet.installPurse(w.issuePurse(wallet.publicKey, { amount: 6000, limit: 5000, ttlS: 3600 }))
    await rejectsCode(
      t,
      wallet.pay({ to: w.box.sticker, amount: 5001 }),
      'over_limit',
      'over the per-payment limit',
    )
    await rejectsCode(t, wallet.pay({ to: w.box.sticker, amount: 0 }), 'bad_amount', 'zero')
    await rejectsCode(t, wallet.pay({ to: w.box.sticker, amount: 1.5 }), 'bad_amount', 'fraction')
    await wallet.pay({ to: w.box.sticker, amount: 5000 })
    await rejectsCode(
      t,
      wallet.pay({ to: w.box.sticker, amount: 1001 }),
      'purse_exhausted',
      'more than remains',
    )
    await wallet.pay({ to: w.box.sticker, amount: 1000 })
    await rejectsCode(t, wallet.pay({ to: w.box.sticker, amount: 1 }), 'purse_exhausted', 'empty purse')

    const other = generateSigningKeyPair(c)
    const forged = makeBox(c, other, { merchantId: '00000000000000aa', deviceId: '00000000000000d1' })
    await rejectsCode(
      t,
      () => wallet.readSticker(forged.sticker),
      'forged_sticker',
      'sticker by an unknown issuer',
    )
    await rejectsCode(t, () => wallet.readSticker('OPGM:NOT A STICKER'), 'bad_sticker', 'garbage sticker')
    await rejectsCode(
      t,
      () => wallet.readSticker(w.box.sticker.replace('OPGM:', 'OPG1:')),
      'bad_sticker',
      'a payment QR is no sticker',
    )
    const old = makeBox(
      c,
      w.issuer,
      { merchantId: '00000000000000aa', deviceId: '00000000000000d2' },
      'Old',
      60,
    )
    await rejectsCode(t, () => wallet.readSticker(old.sticker), 'sticker_expired', 'expired node certificate')

    const w2 = await Wallet.create({
      crypto: c,
      storage: new MemoryStorage(),
      now: w.clock.now,
      issuerKeys: w.keyring,
    })
    await rejectsCode(
      t,
      w2.installPurse(w.issuePurse(wallet.publicKey)),
      'bad_certificate',
      'a purse for another key',
    )
    await rejectsCode(
      t,
      w2.installPurse(w.issuePurse(w2.publicKey, { by: other })),
      'bad_certificate',
      'unknown issuer',
    )
    await w2.installPurse(w.issuePurse(w2.publicKey, { ttlS: 3600 }))
    w.clock.advance(3600 * 1000)
    await rejectsCode(t, w2.pay({ to: w.box.sticker, amount: 10 }), 'cert_expired', 'purse past its expiry')
    t.equal(w2.purse()?.expired, true)
    t.equal(w2.log().length, 0, 'nothing signed by refused payments')
    w.clock.advance(-2 * 3600 * 1000)
    await rejectsCode(
      t,
      w2.pay({ to: w.box.sticker, amount: 10 }),
      'cert_expired',
      'a clock far behind the purse',
    )
  })

  t.test('crash between reserving and saving never yields two tokens at one counter', async (t) => {
    const w = world(c)
    const storage = new PowerCutStorage()
    const signer = recordingSigner(c)
    const open = () => Wallet.open({ crypto: c, storage, signer, now: w.clock.now })
    const wallet = await Wallet.create({
      crypto: c,
      storage,
      signer,
      now: w.clock.now,
      issuerKeys: w.keyring,
    })
    await wallet.installPurse(w.issuePurse(wallet.publicKey))

    // Power cut on the commit write: the token was signed in memory but never returned nor saved.
    storage.arm(2)
    await rejectsCode(t, wallet.pay({ to: w.box.sticker, amount: 700 }), 'storage', 'pay fails at the commit')
    t.equal(signer.signed.length, 1, 'a signature was made before the cut')

    const reopened = await open()
    t.equal(reopened.recovered.length, 1, 'the interrupted payment is finished at open')
    t.same(
      reopened.log().map((e) => [e.counter, e.amount, e.recovered]),
      [[101, 700, true]],
    )
    t.equal(reopened.purse()?.remaining, 9300, 'the recovered payment counts as spent')
    const again1 = reopened.payment(reopened.recovered[0]!)
    const opened = decodeToken(openEnvelope(c, w.box.encryption, decodeQrText(again1.qrText)))
    t.equal(toHex(opened.bytes), reopened.log()[0]!.token, 'the recovered payment can be shown to the box')
    const next = await reopened.pay({ to: w.box.sticker, amount: 50 })
    t.equal(next.counter, 102, 'the next payment takes a fresh counter')

    // Power cut on the reservation write: nothing was reserved, nothing signed.
    storage.arm(1)
    const before = signer.signed.length
    await rejectsCode(
      t,
      reopened.pay({ to: w.box.sticker, amount: 10 }),
      'storage',
      'pay fails at the reservation',
    )
    t.equal(signer.signed.length, before, 'nothing is signed before the counter is durably reserved')
    const again = await open()
    t.equal(again.recovered.length, 0)
    t.equal((await again.pay({ to: w.box.sticker, amount: 10 })).counter, 103)

    // Every message ever signed, grouped by counter: one distinct body per counter.
    const byCounter = new Map<number, Set<string>>()
    for (const m of signer.signed) {
      const body = m.subarray(m.length - (257 - 64))
      const counter = new DataView(body.buffer, body.byteOffset).getUint32(1 + 16 + 132 + 16 + 4)
      const set = byCounter.get(counter) ?? new Set()
      set.add(toHex(m))
      byCounter.set(counter, set)
    }
    t.same([...byCounter.keys()], [101, 102, 103])
    t.ok(
      [...byCounter.values()].every((s) => s.size === 1),
      'each counter was only ever signed over one body',
    )
  })

  t.test('the same wallet in memory: a failed commit is finished before the next payment', async (t) => {
    const w = world(c)
    const storage = new PowerCutStorage()
    const wallet = await Wallet.create({ crypto: c, storage, now: w.clock.now, issuerKeys: w.keyring })
    await wallet.installPurse(w.issuePurse(wallet.publicKey))
    storage.arm(2)
    await rejectsCode(t, wallet.pay({ to: w.box.sticker, amount: 700 }), 'storage', 'commit lost')
    const p = await wallet.pay({ to: w.box.sticker, amount: 1 })
    t.equal(p.counter, 102)
    t.same(wallet.recovered.length, 1)
    t.same(
      wallet.log().map((e) => e.counter),
      [101, 102],
    )
  })

  t.test('a payment interrupted under one purse is finished under that purse, not the next', async (t) => {
    const w = world(c)
    const storage = new PowerCutStorage()
    const wallet = await Wallet.create({ crypto: c, storage, now: w.clock.now, issuerKeys: w.keyring })
    await wallet.installPurse(w.issuePurse(wallet.publicKey, { counterBase: 100 }))
    storage.arm(2)
    await rejectsCode(t, wallet.pay({ to: w.box.sticker, amount: 700 }), 'storage', 'commit lost')
    await wallet.installPurse(w.issuePurse(wallet.publicKey, { counterBase: 200, amount: 500 }))
    const [first] = wallet.log()
    t.equal(first?.counter, 101)
    t.equal(decodeToken(fromHex(first!.token)).cert.counterBase, 100, 'signed under the old certificate')
    t.match(wallet.purse(), { remaining: 500, nextCounter: 201 })
  })

  t.test('acknowledged log entries are pruned beyond keepSynced, unsynced ones never', async (t) => {
    const w = world(c)
    const wallet = await Wallet.create({
      crypto: c,
      storage: new MemoryStorage(),
      now: w.clock.now,
      issuerKeys: w.keyring,
      keepSynced: 2,
    })
    await wallet.installPurse(w.issuePurse(wallet.publicKey))
    const ps = []
    for (let i = 1; i <= 5; i++) ps.push(await wallet.pay({ to: w.box.sticker, amount: i }))
    await wallet.markSynced(ps.slice(0, 4).map((p) => ({ txId: p.txId, outcome: 'accepted' })))
    t.same(
      wallet.log().map((e) => e.counter),
      [103, 104, 105],
      'the two newest acknowledged and the unsynced one',
    )
    t.same(
      wallet.unsynced().map((e) => e.counter),
      [105],
    )
  })

  t.test('concurrent payments take distinct counters', async (t) => {
    const w = world(c)
    const wallet = await Wallet.create({
      crypto: c,
      storage: new MemoryStorage(),
      now: w.clock.now,
      issuerKeys: w.keyring,
    })
    await wallet.installPurse(w.issuePurse(wallet.publicKey))
    const ps = await Promise.all([1, 2, 3, 4].map((a) => wallet.pay({ to: w.box.sticker, amount: a })))
    t.same(ps.map((p) => p.counter).sort(), [101, 102, 103, 104])
    t.equal(wallet.purse()?.remaining, 10000 - 10)
  })

  t.test('an external signer: the core never stores a secret', async (t) => {
    const w = world(c)
    const storage = new MemoryStorage()
    const signer = recordingSigner(c)
    const wallet = await Wallet.create({
      crypto: c,
      storage,
      signer,
      now: w.clock.now,
      issuerKeys: w.keyring,
    })
    await wallet.installPurse(w.issuePurse(signer.publicKey))
    const p = await wallet.pay({ to: w.box.sticker, amount: 10 })
    verifyToken(c, p.token, { issuerKeys: w.keyring })
    const stored = JSON.parse((await storage.get('wallet'))!)
    t.equal(stored.seed, undefined, 'no seed in storage')
    await rejectsCode(t, Wallet.open({ crypto: c, storage }), 'storage', 'opening needs the signer')
    await rejectsCode(
      t,
      Wallet.open({ crypto: c, storage, signer: recordingSigner(c) }),
      'storage',
      'another key',
    )
    const bad: Signer = { publicKey: signer.publicKey, sign: async () => new Uint8Array(64) }
    const w2 = await Wallet.open({ crypto: c, storage, signer: bad, now: w.clock.now })
    await rejectsCode(
      t,
      w2.pay({ to: w.box.sticker, amount: 1 }),
      'bad_certificate',
      'a broken signer is caught',
    )
    await rejectsCode(
      t,
      Wallet.create({ crypto: c, storage }),
      'wallet_exists',
      'create refuses to overwrite',
    )
  })

  t.test('receipts are verified against the box on the sticker', async (t) => {
    const w = world(c)
    const wallet = await Wallet.create({
      crypto: c,
      storage: new MemoryStorage(),
      now: w.clock.now,
      issuerKeys: w.keyring,
    })
    await wallet.installPurse(w.issuePurse(wallet.publicKey))
    const p = await wallet.pay({ to: w.box.sticker, amount: 10 })
    const good = signReceipt(c, w.box.signing.secretKey, p.token, T0_S)
    await wallet.acceptReceipt(p, good.bytes)
    t.equal(wallet.log()[0]?.receipt, toHex(good.bytes), 'kept in the log')
    const fake = signReceipt(c, generateSigningKeyPair(c).secretKey, p.token, T0_S)
    await rejectsCode(t, wallet.acceptReceipt(p, fake.bytes), 'bad_receipt', 'receipt by another key')
    const p2 = await wallet.pay({ to: w.box.sticker, amount: 11 })
    await rejectsCode(t, wallet.acceptReceipt(p2, good.bytes), 'bad_receipt', 'receipt for another payment')
  })

  t.test('registration merges issuer keys (rotation)', async (t) => {
    const w = world(c)
    const wallet = await Wallet.create({ crypto: c, storage: new MemoryStorage(), now: w.clock.now })
    await rejectsCode(t, () => wallet.readSticker(w.box.sticker), 'forged_sticker', 'no issuer keys yet')
    const next = generateSigningKeyPair(c)
    await wallet.setRegistration({ walletId: '0000000000000c01', issuerKeys: w.keyring })
    await wallet.setRegistration({
      walletId: '0000000000000c01',
      issuerKeys: makeKeyring(c, [next.publicKey]),
    })
    t.equal(wallet.issuerKeys.size, 2)
    t.equal(wallet.readSticker(w.box.sticker).merchantName, 'Corner Cafe')
  })

  t.test('pay over BLE: receipt, impostor box, refusal', async (t) => {
    const w = world(c)
    const wallet = await Wallet.create({
      crypto: c,
      storage: new MemoryStorage(),
      now: w.clock.now,
      issuerKeys: w.keyring,
    })
    await wallet.installPurse(w.issuePurse(wallet.publicKey))
    const node = { signingSecret: w.box.signing.secretKey, cert: w.box.cert }

    const box = new FakeBoxChannel(c, node, w.keyring)
    const r = await payOverBle(wallet, box, { to: w.box.sticker, amount: 420 })
    t.equal(r.receipt.txId, r.payment.txId)
    t.ok(r.payment.token.challenge, 'the token is bound to the session challenge')
    t.equal(box.closed, 1, 'session closed')
    t.ok(wallet.log()[0]?.receipt, 'receipt kept in the log')

    // A box that copied the sticker's certificate but lacks the node key cannot sign the transcript.
    const impostor = new FakeBoxChannel(
      c,
      { signingSecret: generateSigningKeyPair(c).secretKey, cert: w.box.cert },
      w.keyring,
    )
    await rejectsCode(
      t,
      payOverBle(wallet, impostor, { to: w.box.sticker, amount: 1 }),
      'forged_sticker',
      'impostor box',
    )
    t.equal(impostor.received.length, 1, 'no token is sent to an impostor')
    t.equal(impostor.closed, 1)

    // A genuine box of another merchant is not the box on the sticker.
    const other = makeBox(c, w.issuer, { merchantId: '00000000000000bb', deviceId: '00000000000000d9' })
    const wrong = new FakeBoxChannel(
      c,
      { signingSecret: other.signing.secretKey, cert: other.cert },
      w.keyring,
    )
    await rejectsCode(
      t,
      payOverBle(wallet, wrong, { to: w.box.sticker, amount: 1 }),
      'forged_sticker',
      'another box',
    )

    const refusing = new FakeBoxChannel(c, node, w.keyring, { reject: 'exposure_cap' })
    try {
      await payOverBle(wallet, refusing, { to: w.box.sticker, amount: 5 })
      t.fail('should refuse')
    } catch (err) {
      t.match(err, { code: 'ble', remoteCode: 'exposure_cap' }, 'the box code reaches the app')
    }
    t.equal(wallet.purse()?.remaining, 10000 - 420 - 5, 'a sent token stays spent even when refused')
    t.equal(wallet.log().length, 2)
    t.equal(wallet.log()[1]?.refused, 'exposure_cap')
    t.same(
      wallet.unsynced().map((e) => e.txId),
      [r.payment.txId],
      'a refused token is not uploaded (that would credit the merchant)',
    )
  })
}
