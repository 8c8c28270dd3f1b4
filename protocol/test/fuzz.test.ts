/**
 * Bad input, every decoder: arbitrary bytes and every single-bit flip of a valid message are rejected with a
 * ProtocolError — never another exception, never acceptance. OPG_FUZZ_RUNS sets the cases per decoder
 * (default 10,000, as CI runs it).
 */
import fc from 'fast-check'
import t from 'tap'
import {
  AckSchema,
  type BleCipher,
  type Bytes,
  boxRespond,
  CommandSchema,
  chunkMessage,
  decodeInner,
  decodeNodeCertificate,
  decodeQrText,
  decodeReceipt,
  decodeSticker,
  decodeToken,
  decodeWalletCertificate,
  deriveKey,
  encodeInner,
  encodeQrText,
  encodeSticker,
  formatPaidSms,
  id8ToBytes,
  openEnvelope,
  openMqtt,
  ProtocolError,
  parsePaidSms,
  parseTopic,
  Reassembler,
  StatusSchema,
  sealEnvelope,
  sealMqtt,
  signReceipt,
  TxBatchSchema,
  topic,
  uuidv7,
  verifyNodeCertificate,
  verifyReceipt,
  verifyToken,
  verifyWalletCertificate,
  walletFinish,
  walletHello,
} from '../src/index.js'
import { nodeBackend as c } from '../src/node.js'
import { NOW_S, world } from './fixtures.js'

const RUNS = Number(process.env.OPG_FUZZ_RUNS ?? 10_000)
const w = world(c)

/** Run `accept`; true when it threw a ProtocolError. Anything else (acceptance, other errors) is a failure. */
function rejected(accept: () => unknown): boolean {
  try {
    accept()
  } catch (e) {
    if (e instanceof ProtocolError) return true
    throw new Error(`non-protocol error: ${String(e)}`, { cause: e })
  }
  return false
}

function flips(b: Bytes): Bytes[] {
  const out: Bytes[] = []
  for (let i = 0; i < b.length * 8; i++) {
    const x = b.slice()
    x[i >> 3]! ^= 1 << (i & 7)
    out.push(x)
  }
  return out
}

function textFlips(s: string): string[] {
  const out: string[] = []
  for (let i = 0; i < s.length; i++) {
    for (let bit = 0; bit < 7; bit++)
      out.push(s.slice(0, i) + String.fromCharCode(s.charCodeAt(i) ^ (1 << bit)) + s.slice(i + 1))
  }
  return out
}

const verifyOpts = {
  issuerKeys: w.keyring,
  nowS: NOW_S,
  merchantId: w.ids.merchantId,
  deviceId: w.ids.deviceId,
}
const token = w.pay()
const envelope = sealEnvelope(c, w.nodeEnc.publicKey, token.bytes)
const receipt = signReceipt(c, w.nodeSigning.secretKey, token, NOW_S)
const mqttKey = deriveKey(c, c.randomBytes(16), 'mqtt', id8ToBytes(w.ids.deviceId))
const smsKey = deriveKey(c, c.randomBytes(16), 'sms', id8ToBytes(w.ids.deviceId))
const txTopic = topic(w.ids.tenantId, w.ids.deviceId, 'up/tx')
const batch = sealMqtt(c, mqttKey, txTopic, TxBatchSchema, {
  v: 1,
  batch: uuidv7(c),
  records: [{ token: token.bytes, receipt: receipt.bytes, channel: 'qr', acceptedAt: NOW_S * 1000 }],
})

interface Decoder {
  name: string
  /** The whole acceptance path for this input kind. */
  accept(b: Bytes): unknown
  valid: Bytes
}

const decoders: Decoder[] = [
  { name: 'payment token', valid: token.bytes, accept: (b) => verifyToken(c, decodeToken(b), verifyOpts) },
  {
    name: 'wallet certificate',
    valid: w.walletCert.bytes,
    accept: (b) => verifyWalletCertificate(c, decodeWalletCertificate(b), w.keyring, NOW_S),
  },
  {
    name: 'node certificate',
    valid: w.nodeCert.bytes,
    accept: (b) => verifyNodeCertificate(c, decodeNodeCertificate(b), w.keyring, NOW_S),
  },
  {
    name: 'envelope',
    valid: envelope,
    accept: (b) => verifyToken(c, decodeToken(openEnvelope(c, w.nodeEnc, b)), verifyOpts),
  },
  {
    name: 'receipt',
    valid: receipt.bytes,
    accept: (b) => verifyReceipt(c, decodeReceipt(b), w.nodeSigning.publicKey, token),
  },
  { name: 'MQTT tx batch', valid: batch, accept: (b) => openMqtt(c, mqttKey, txTopic, TxBatchSchema, b) },
]

for (const d of decoders) {
  t.test(`${d.name}: the valid message is accepted`, async (t) => {
    t.doesNotThrow(() => d.accept(d.valid))
  })
  t.test(`${d.name}: arbitrary bytes are rejected with a ProtocolError`, async (t) => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: d.valid.length * 2 }), (b) => rejected(() => d.accept(b))),
      { numRuns: RUNS },
    )
    t.pass(`${RUNS} cases`)
  })
  t.test(`${d.name}: every single-bit flip is rejected`, async (t) => {
    const all = flips(d.valid)
    for (const f of all) if (!rejected(() => d.accept(f))) t.fail(`a bit flip was accepted`)
    t.pass(`${all.length} flips`)
  })
  t.test(`${d.name}: oversized input is refused before work`, async (t) => {
    t.ok(rejected(() => d.accept(new Uint8Array(300_000))))
  })
}

t.test('other MQTT messages: arbitrary CBOR-ish bytes under a valid seal are rejected', async (t) => {
  const ackTopic = topic(w.ids.tenantId, w.ids.deviceId, 'down/ack')
  for (const schema of [AckSchema, CommandSchema, StatusSchema, TxBatchSchema]) {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        const nonce = c.randomBytes(12)
        const sealed = new Uint8Array([1, ...nonce, ...c.aesGcmSeal(mqttKey, nonce, b, aadOf(ackTopic))])
        return rejected(() => openMqtt(c, mqttKey, ackTopic, schema as typeof AckSchema, sealed))
      }),
      { numRuns: Math.ceil(RUNS / 4) },
    )
  }
  t.pass()
})

function aadOf(tp: string): Bytes {
  return new Uint8Array([...new TextEncoder().encode('opg/v1 mqtt'), 0, ...new TextEncoder().encode(tp)])
}

t.test('MQTT topics: arbitrary strings never throw anything but ProtocolError', async (t) => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (s) => {
      try {
        parseTopic(s)
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e
      }
      return true
    }),
    { numRuns: RUNS },
  )
  t.pass()
})

t.test('QR text: arbitrary text and every character bit flip are rejected', async (t) => {
  const acceptQr = (s: string) =>
    verifyToken(c, decodeToken(openEnvelope(c, w.nodeEnc, decodeQrText(s))), verifyOpts)
  const text = encodeQrText(envelope)
  t.doesNotThrow(() => acceptQr(text))
  const b45 = fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:'.split(''))
  fc.assert(
    fc.property(fc.string({ maxLength: 600 }), (s) => rejected(() => acceptQr(s))),
    { numRuns: RUNS },
  )
  fc.assert(
    fc.property(fc.array(b45, { maxLength: 480 }), (cs) => rejected(() => acceptQr(`OPG1:${cs.join('')}`))),
    { numRuns: RUNS },
  )
  for (const f of textFlips(text)) if (!rejected(() => acceptQr(f))) t.fail('a flipped QR text was accepted')
  t.pass()
})

t.test('sticker: arbitrary text and every character bit flip are rejected', async (t) => {
  const acceptSticker = (s: string) => verifyNodeCertificate(c, decodeSticker(s).nodeCert, w.keyring, NOW_S)
  const text = encodeSticker({ nodeCert: w.nodeCert, merchantName: 'Stall 7' })
  t.doesNotThrow(() => acceptSticker(text))
  fc.assert(
    fc.property(fc.string({ maxLength: 400 }), (s) => rejected(() => acceptSticker(s))),
    { numRuns: RUNS },
  )
  // Flips inside the merchant name change only the display name (it is not signed); every other flip must fail.
  let nameOnly = 0
  for (const f of textFlips(text)) {
    try {
      const s = decodeSticker(f)
      verifyNodeCertificate(c, s.nodeCert, w.keyring, NOW_S)
      if (s.merchantName === 'Stall 7') t.fail('a flip was accepted unchanged')
      nameOnly++
    } catch (e) {
      if (!(e instanceof ProtocolError)) t.fail(`non-protocol error ${String(e)}`)
    }
  }
  t.ok(nameOnly < 200, 'only name-bearing flips decode')
})

t.test('SMS: arbitrary text and every character bit flip are rejected', async (t) => {
  const msg = formatPaidSms(c, smsKey, w.ids.deviceId, {
    ref: 'INV-9',
    amount: 1234,
    currency: 'INR',
    counter: 5,
  })
  const acceptSms = (s: string) => parsePaidSms(c, smsKey, w.ids.deviceId, s)
  t.doesNotThrow(() => acceptSms(msg))
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (s) => rejected(() => acceptSms(s))),
    { numRuns: RUNS },
  )
  fc.assert(
    fc.property(fc.string({ maxLength: 120 }), (s) => rejected(() => acceptSms(`OPG1 PAID ${s}`))),
    { numRuns: RUNS },
  )
  for (const f of textFlips(msg)) if (!rejected(() => acceptSms(f))) t.fail(`flipped SMS accepted: ${f}`)
  t.pass()
})

t.test('BLE: frames and sealed session messages — garbage and flips are rejected', async (t) => {
  const hs = walletHello(c)
  const box = boxRespond(c, { signingSecret: w.nodeSigning.secretKey, cert: w.nodeCert }, hs.message)
  t.doesNotThrow(() => walletFinish(c, hs, box.message, { issuerKeys: w.keyring }))
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (b) =>
      rejected(() => boxRespond(c, { signingSecret: w.nodeSigning.secretKey, cert: w.nodeCert }, b)),
    ),
    { numRuns: RUNS },
  )
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (b) =>
      rejected(() => walletFinish(c, hs, b, { issuerKeys: w.keyring })),
    ),
    { numRuns: RUNS },
  )
  for (const f of flips(box.message)) {
    if (!rejected(() => walletFinish(c, hs, f, { issuerKeys: w.keyring })))
      t.fail('flipped BoxHello accepted')
  }
  // A sealed token message, chunked at MTU 185: every bit flip of every chunk fails reassembly or authentication.
  const makePair = () => {
    const h = walletHello(c, hs.ephemeralSecret)
    const b = boxRespond(
      c,
      { signingSecret: w.nodeSigning.secretKey, cert: w.nodeCert },
      h.message,
      c.randomBytes(32),
    )
    return {
      wallet: walletFinish(c, h, b.message, { issuerKeys: w.keyring }).cipher,
      box: b.cipher as BleCipher,
    }
  }
  const pair = makePair()
  const sealed = pair.wallet.seal(encodeInner({ kind: 'token', token: token.bytes }))
  const chunks = chunkMessage(sealed, 185)
  const receive = (cs: Bytes[], cipher: BleCipher) => {
    const r = new Reassembler({ maxMessageSize: 1024 })
    let msg: Bytes | undefined
    for (const ch of cs) msg = r.push(ch)
    if (!msg) throw new ProtocolError('truncated', 'no whole message')
    return decodeInner(cipher.open(msg))
  }
  for (let i = 0; i < chunks.length; i++) {
    for (const f of flips(chunks[i]!)) {
      const p = makePair()
      const s = p.wallet.seal(encodeInner({ kind: 'token', token: token.bytes }))
      const cs = chunkMessage(s, 185)
      cs[i] = f.length === cs[i]!.length ? xorInto(cs[i]!, f, chunks[i]!) : f
      if (!rejected(() => receive(cs, p.box))) t.fail('flipped chunk accepted')
    }
  }
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), (cs) =>
      rejected(() => receive(cs, makePair().box)),
    ),
    { numRuns: Math.ceil(RUNS / 10) },
  )
  t.pass()
})

/** Apply to `target` the same bit difference that `flipped` has from `original`. */
function xorInto(target: Bytes, flipped: Bytes, original: Bytes): Bytes {
  const out = target.slice()
  for (let i = 0; i < out.length; i++) out[i]! ^= flipped[i]! ^ original[i]!
  return out
}
