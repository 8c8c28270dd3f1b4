import t from 'tap'
import {
  AckSchema,
  boxRespond,
  bridgeSubscription,
  CommandSchema,
  decodeInner,
  decodeToken,
  deriveKey,
  encodeInner,
  formatPaidSms,
  id8ToBytes,
  isOfflineStatus,
  OFFLINE_STATUS,
  openMqtt,
  parsePaidSms,
  parseTopic,
  sealMqtt,
  signReceipt,
  TxBatchSchema,
  topic,
  uuidv7,
  verifyToken,
  walletFinish,
  walletHello,
} from '../src/index.js'
import { backends } from './backends.js'
import { code, NOW_S, world } from './fixtures.js'

for (const c of backends) {
  t.test(`${c.name}: BLE session — handshake, challenge-bound token, receipt`, async (t) => {
    const w = world(c)
    const hs = walletHello(c)
    const box = boxRespond(c, { signingSecret: w.nodeSigning.secretKey, cert: w.nodeCert }, hs.message)
    const wal = walletFinish(c, hs, box.message, {
      issuerKeys: w.keyring,
      deviceId: w.ids.deviceId,
      nowS: NOW_S,
    })
    t.same(wal.challenge, box.challenge, 'both sides see one challenge')
    const token = w.pay({ challenge: wal.challenge })
    t.equal(token.bytes.length, 265)
    const got = decodeInner(
      box.cipher.open(wal.cipher.seal(encodeInner({ kind: 'token', token: token.bytes }))),
    )
    t.equal(got.kind, 'token')
    if (got.kind !== 'token') return
    verifyToken(c, decodeToken(got.token), { issuerKeys: w.keyring, nowS: NOW_S, challenge: box.challenge })
    const receipt = signReceipt(c, w.nodeSigning.secretKey, token, NOW_S)
    const back = decodeInner(
      wal.cipher.open(box.cipher.seal(encodeInner({ kind: 'receipt', receipt: receipt.bytes }))),
    )
    t.same(back, { kind: 'receipt', receipt: receipt.bytes })
    const reject = decodeInner(
      wal.cipher.open(box.cipher.seal(encodeInner({ kind: 'reject', code: 'replay' }))),
    )
    t.same(reject, { kind: 'reject', code: 'replay' })
  })

  t.test(`${c.name}: BLE session — a fake box without the node key is refused`, async (t) => {
    const w = world(c)
    const hs = walletHello(c)
    const impostorKey = c.randomBytes(32)
    const fake = boxRespond(c, { signingSecret: impostorKey, cert: w.nodeCert }, hs.message)
    t.equal(
      code(() => walletFinish(c, hs, fake.message, { issuerKeys: w.keyring })),
      'bad_signature',
    )
    const real = boxRespond(c, { signingSecret: w.nodeSigning.secretKey, cert: w.nodeCert }, hs.message)
    t.equal(
      code(() => walletFinish(c, hs, real.message, { issuerKeys: w.keyring, deviceId: '0000000000000001' })),
      'wrong_device',
    )
    t.equal(
      code(() => walletFinish(c, hs, real.message, { issuerKeys: new Map() })),
      'unknown_key',
    )
  })

  t.test(`${c.name}: BLE session — replayed or reordered sealed messages fail`, async (t) => {
    const w = world(c)
    const hs = walletHello(c)
    const box = boxRespond(c, { signingSecret: w.nodeSigning.secretKey, cert: w.nodeCert }, hs.message)
    const wal = walletFinish(c, hs, box.message, { issuerKeys: w.keyring })
    const m1 = wal.cipher.seal(encodeInner({ kind: 'reject', code: 'timeout' }))
    const m2 = wal.cipher.seal(encodeInner({ kind: 'reject', code: 'timeout' }))
    t.equal(
      code(() => box.cipher.open(m2)),
      'bad_tag',
      'out of order',
    )
    box.cipher.open(m1)
    t.equal(
      code(() => box.cipher.open(m1)),
      'bad_tag',
      'replayed',
    )
    t.equal(
      code(() => wal.cipher.open(m2)),
      'bad_tag',
      'reflected back to its sender',
    )
  })

  t.test(`${c.name}: MQTT — topics, sealed batches bound to their topic`, async (t) => {
    const w = world(c)
    const secret = c.randomBytes(16)
    const key = deriveKey(c, secret, 'mqtt', id8ToBytes(w.ids.deviceId))
    const tx = topic(w.ids.tenantId, w.ids.deviceId, 'up/tx')
    t.same(parseTopic(tx), { tenantId: w.ids.tenantId, deviceId: w.ids.deviceId, kind: 'up/tx' })
    t.equal(bridgeSubscription(true), '$share/bridge/opg/v1/+/+/up/#')
    t.equal(bridgeSubscription(false), 'opg/v1/+/+/up/#')
    const token = w.pay()
    const receipt = signReceipt(c, w.nodeSigning.secretKey, token, NOW_S)
    const batch = {
      v: 1 as const,
      batch: uuidv7(c),
      records: [
        { token: token.bytes, receipt: receipt.bytes, channel: 'qr' as const, acceptedAt: NOW_S * 1000 },
      ],
    }
    const sealed = sealMqtt(c, key, tx, TxBatchSchema, batch)
    const back = openMqtt(c, key, tx, TxBatchSchema, sealed)
    t.same(back.records[0]?.token, token.bytes)
    const other = topic(w.ids.tenantId, '00000000000000aa', 'up/tx')
    t.equal(
      code(() => openMqtt(c, key, other, TxBatchSchema, sealed)),
      'bad_tag',
      'moved to another topic',
    )
    t.equal(
      code(() => openMqtt(c, key, tx, AckSchema, sealed)),
      'bad_field',
      'wrong schema',
    )
    const ack = { v: 1 as const, batch: batch.batch, accepted: [token.txId], rejected: [] }
    const ackTopic = topic(w.ids.tenantId, w.ids.deviceId, 'down/ack')
    t.same(openMqtt(c, key, ackTopic, AckSchema, sealMqtt(c, key, ackTopic, AckSchema, ack)), ack)
    const cmdTopic = topic(w.ids.tenantId, w.ids.deviceId, 'down/cmd')
    const cmd = { v: 1 as const, id: uuidv7(c), seq: 1, type: 'time' as const, now: NOW_S * 1000 }
    t.same(openMqtt(c, key, cmdTopic, CommandSchema, sealMqtt(c, key, cmdTopic, CommandSchema, cmd)), cmd)
    t.ok(isOfflineStatus(OFFLINE_STATUS))
    t.equal(
      code(() => parseTopic('opg/v1/x/y/up/tx')),
      'bad_field',
    )
    t.equal(
      code(() => parseTopic(`opg/v2/${w.ids.tenantId}/${w.ids.deviceId}/up/tx`)),
      'bad_prefix',
    )
    t.equal(
      code(() => sealMqtt(c, key, tx, TxBatchSchema, { ...batch, records: [] })),
      'bad_field',
    )
  })

  t.test(`${c.name}: SMS confirmation — authentic, tampered, other device`, async (t) => {
    const deviceId = '2222222222222222'
    const key = deriveKey(c, c.randomBytes(16), 'sms', id8ToBytes(deviceId))
    const m = { ref: 'INV-77', amount: 45000, currency: 'KES', counter: 3 }
    const text = formatPaidSms(c, key, deviceId, m)
    t.match(text, /^OPG1 PAID INV-77 45000 KES 3 [0-9A-F]{16}$/)
    t.ok(text.length <= 160)
    t.same(parsePaidSms(c, key, deviceId, `${text}\r\n`), m, 'modem line endings are tolerated')
    t.equal(
      code(() => parsePaidSms(c, key, deviceId, text.replace('45000', '95000'))),
      'bad_tag',
    )
    t.equal(
      code(() => parsePaidSms(c, key, '3333333333333333', text)),
      'bad_tag',
    )
    t.equal(
      code(() => parsePaidSms(c, key, deviceId, text.slice(0, -2))),
      'bad_encoding',
    )
    t.equal(
      code(() => parsePaidSms(c, key, deviceId, 'Hello from your bank')),
      'bad_prefix',
    )
    t.equal(
      code(() => parsePaidSms(c, key, deviceId, `OPG1 PAID ${'x'.repeat(200)}`)),
      'oversized',
    )
  })
}
