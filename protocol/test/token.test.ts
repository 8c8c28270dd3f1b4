import t from 'tap'
import {
  decodeQrText,
  decodeReceipt,
  decodeSticker,
  decodeToken,
  deviceTag,
  ENVELOPE_MAX,
  encodeQrText,
  encodeSticker,
  generateSigningKeyPair,
  issueWalletCertificate,
  openEnvelope,
  QR_TEXT_MAX,
  sealEnvelope,
  signReceipt,
  tokenHash,
  verifyNodeCertificate,
  verifyReceipt,
  verifyToken,
} from '../src/index.js'
import { backends } from './backends.js'
import { code, NOW_S, world } from './fixtures.js'

for (const c of backends) {
  t.test(`${c.name}: a QR payment survives the trip from wallet to box`, async (t) => {
    const w = world(c)
    const token = w.pay()
    t.equal(token.bytes.length, 257, 'token is 257 bytes')
    const env = sealEnvelope(c, w.nodeEnc.publicKey, token.bytes)
    t.equal(env.length, 310, 'sealed token is 310 bytes')
    t.ok(env.length <= ENVELOPE_MAX)
    const text = encodeQrText(env)
    t.match(text, /^OPG1:[0-9A-Z $%*+\-./:]+$/, 'QR alphanumeric alphabet only')
    const opened = decodeToken(openEnvelope(c, w.nodeEnc, decodeQrText(text)))
    verifyToken(c, opened, {
      issuerKeys: w.keyring,
      nowS: NOW_S,
      merchantId: w.ids.merchantId,
      deviceId: w.ids.deviceId,
    })
    t.equal(opened.amount, 1250)
    t.equal(opened.currency, 'INR')
    t.equal(opened.walletId, w.ids.walletId)
    t.same(opened.bytes, token.bytes)
  })

  t.test(`${c.name}: the box rejects each attack with its code`, async (t) => {
    const w = world(c)
    const o = { issuerKeys: w.keyring, nowS: NOW_S, merchantId: w.ids.merchantId, deviceId: w.ids.deviceId }
    const good = w.pay()
    const tampered = good.bytes.slice()
    tampered[165 + 3]! ^= 0x01 // amount's low byte
    t.equal(
      code(() => verifyToken(c, decodeToken(tampered), o)),
      'bad_signature',
      'tampered amount',
    )
    const forger = generateSigningKeyPair(c)
    const forgedCert = issueWalletCertificate(c, forger, { ...w.walletCert })
    t.equal(
      code(() => verifyToken(c, w.pay({}), { ...o, issuerKeys: new Map() })),
      'unknown_key',
      'unknown issuer',
    )
    const forged = decodeToken(w.pay().bytes)
    forged.cert = forgedCert
    t.equal(
      code(() => verifyToken(c, forged, o)),
      'unknown_key',
      'certificate by a forger',
    )
    t.equal(
      code(() => verifyToken(c, good, { ...o, merchantId: '00000000000000ff' })),
      'wrong_merchant',
    )
    t.equal(
      code(() => verifyToken(c, good, { ...o, deviceId: '00000000000000ff' })),
      'wrong_device',
    )
    t.equal(
      code(() => verifyToken(c, good, { ...o, nowS: NOW_S + 69 * 3600 })),
      'expired',
    )
    t.equal(
      code(() => verifyToken(c, good, { ...o, nowS: NOW_S - 7200 })),
      'not_yet_valid',
    )
    t.equal(
      code(() => verifyToken(c, w.pay({ amount: 5001 }), o)),
      'over_limit',
    )
    t.equal(
      code(() => verifyToken(c, w.pay({ counter: 10 }), o)),
      'bad_counter',
    )
    t.equal(
      code(() => verifyToken(c, good, { ...o, challenge: new Uint8Array(8) })),
      'bad_challenge',
    )
    const otherBox = { ...w.nodeEnc, publicKey: c.x25519PublicKey(c.randomBytes(32)) }
    t.equal(
      code(() => openEnvelope(c, otherBox, sealEnvelope(c, w.nodeEnc.publicKey, good.bytes))),
      'unknown_key',
    )
    t.equal(
      code(() => decodeQrText('OPG2:ABC')),
      'bad_prefix',
    )
    t.equal(
      code(() => decodeQrText(`OPG1:${'A'.repeat(2000)}`)),
      'oversized',
    )
  })

  t.test(`${c.name}: receipts bind the box to the exact token`, async (t) => {
    const w = world(c)
    const token = w.pay()
    const r = signReceipt(c, w.nodeSigning.secretKey, token, NOW_S)
    verifyReceipt(c, decodeReceipt(r.bytes), w.nodeSigning.publicKey, token)
    t.same(r.tokenHash, tokenHash(c, token))
    t.equal(
      code(() => verifyReceipt(c, r, w.wallet.publicKey, token)),
      'bad_signature',
      'another key',
    )
    t.equal(
      code(() => verifyReceipt(c, r, w.nodeSigning.publicKey, w.pay())),
      'bad_field',
      'another token',
    )
  })

  t.test(`${c.name}: the sticker carries a verifiable node certificate`, async (t) => {
    const w = world(c)
    const text = encodeSticker({ nodeCert: w.nodeCert, merchantName: 'Asha Tea Stall ☕' })
    const s = decodeSticker(text)
    t.equal(s.merchantName, 'Asha Tea Stall ☕')
    verifyNodeCertificate(c, s.nodeCert, w.keyring, NOW_S)
    t.equal(s.nodeCert.deviceId, w.ids.deviceId)
    t.equal(deviceTag(w.ids.deviceId).length, 8)
    t.equal(
      code(() => encodeSticker({ nodeCert: w.nodeCert, merchantName: 'x'.repeat(49) })),
      'bad_field',
    )
  })
}

for (const c of backends) {
  t.test(
    `${c.name}: a changed currency byte gives the code of the check SPEC.md §4 runs first`,
    async (t) => {
      const w = world(c)
      const token = w.pay()
      const at = 17 + 53 // the certificate's currency, inside the token
      const opts = {
        issuerKeys: w.keyring,
        nowS: NOW_S,
        merchantId: w.ids.merchantId,
        deviceId: w.ids.deviceId,
      }
      const letter = token.bytes.slice()
      letter[at] = letter[at] === 0x5a ? 0x41 : letter[at]! + 1 // another A–Z letter: decodes, then fails the issuer signature
      t.equal(
        code(() => verifyToken(c, decodeToken(letter), opts)),
        'bad_signature',
      )
      const lower = token.bytes.slice()
      lower[at] = lower[at]! ^ 0x20 // a lowercase letter: refused while decoding, before any signature work
      t.equal(
        code(() => decodeToken(lower)),
        'bad_field',
      )
    },
  )
}

t.test('QR text: the longest accepted is QR_TEXT_MAX = 482 characters', async (t) => {
  t.equal(QR_TEXT_MAX, 482)
  t.not(
    code(() => decodeQrText(`OPG1:${'0'.repeat(QR_TEXT_MAX - 5)}`)),
    'oversized',
    'at the limit: decoded',
  )
  t.equal(
    code(() => decodeQrText(`OPG1:${'0'.repeat(QR_TEXT_MAX - 4)}`)),
    'oversized',
    'one over: refused',
  )
})
