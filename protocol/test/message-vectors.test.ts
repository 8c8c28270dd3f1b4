import { readFileSync } from 'node:fs'
import t from 'tap'
import { buildMessageVectors } from '../scripts/message-vectors.js'
import { FIXED } from '../scripts/vectors.js'
import {
  AckSchema,
  CommandSchema,
  decodeInner,
  decodeMessage,
  deriveKey,
  encodeMessage,
  fromHex,
  openMqtt,
  parsePaidSms,
  Reassembler,
  StatusSchema,
  TxBatchSchema,
  toHex,
} from '../src/index.js'
import { backends } from './backends.js'

const v = JSON.parse(readFileSync(new URL('../test-vectors/opg-v1-messages.json', import.meta.url), 'utf8'))

for (const c of backends) {
  t.test(`${c.name}: rebuilds the published message vectors byte for byte`, async (t) => {
    t.same(JSON.parse(JSON.stringify(buildMessageVectors(c))), v)
  })

  t.test(`${c.name}: every published message decodes, opens and re-encodes to its bytes`, async (t) => {
    const key = deriveKey(c, fromHex(FIXED.deviceSecret), 'mqtt', fromHex(FIXED.deviceId))
    const cases = [
      ['ack', AckSchema, v.ack],
      ['status', StatusSchema, v.status],
      ['last will', StatusSchema, v.lastWill],
      ['config', CommandSchema, v.commands.config],
      ['invoice_paid', CommandSchema, v.commands.invoicePaid],
      ['sync_now', CommandSchema, v.commands.syncNow],
    ] as const
    for (const [name, schema, m] of cases) {
      const decoded = decodeMessage(schema as typeof AckSchema, fromHex(m.cbor))
      t.same(decoded, m.message, `${name}: decodes`)
      t.equal(toHex(encodeMessage(schema as typeof AckSchema, decoded)), m.cbor, `${name}: re-encodes`)
      t.same(
        openMqtt(c, key, m.topic, schema as typeof AckSchema, fromHex(m.sealed)),
        m.message,
        `${name}: opens`,
      )
    }
  })
}

t.test('a batch in the pre-canonical encoding is still read, and re-encodes canonically', async (t) => {
  const m = decodeMessage(TxBatchSchema, fromHex(v.legacy.cbor))
  const r = m.records[0]!
  t.same({ ...m, records: [{ ...r, token: toHex(r.token), receipt: toHex(r.receipt) }] }, v.legacy.message)
  t.equal(toHex(encodeMessage(TxBatchSchema, m)), v.legacy.canonical)
  t.not(v.legacy.cbor, v.legacy.canonical, 'the two encodings differ, so the test means something')
})

t.test('BLE: error message, chunks and the State write', async (t) => {
  t.same(decodeInner(fromHex(v.ble.error.inner)), { kind: 'reject', code: v.ble.error.code })
  for (const mtu of ['mtu23', 'mtu185'] as const) {
    const r = new Reassembler({ maxMessageSize: 1024 })
    const chunks: string[] = v.ble.chunks[mtu]
    const out = chunks.map((h) => r.push(fromHex(h)))
    t.same(
      out.slice(0, -1),
      new Array(chunks.length - 1).fill(undefined),
      `${mtu}: nothing before the last chunk`,
    )
    t.equal(toHex(out.at(-1)!), v.ble.chunks.message, `${mtu}: reassembles`)
  }
  const r = new Reassembler()
  const hello = v.ble.stateWrite.helloChunksMtu23.map((h: string) => r.push(fromHex(h))).at(-1)
  t.equal(`01${toHex(hello)}`, v.ble.stateWrite.mtu185, 'the State write at MTU 185 carries the hello')
  t.equal(v.ble.stateWrite.mtu23, '01', 'at MTU 23 it is the bare start')
})

const v1 = JSON.parse(readFileSync(new URL('../test-vectors/opg-v1.json', import.meta.url), 'utf8'))
for (const c of backends) {
  t.test(
    `${c.name}: the SMS tag is over the device id as 16 hex characters; a lowercase tag is refused`,
    async (t) => {
      const smsKey = fromHex(v1.kdf.sms)
      const m = v1.sms.message
      // SPEC.md §9: text fields and numbers as ASCII (decimal, no leading zeros), deviceId as its 16 hex characters.
      const input = `opg/v1 sms\u0000${FIXED.deviceId}|${m.ref}|${m.amount}|${m.currency}|${m.counter}`
      const tag = toHex(c.aesCmac(smsKey, new TextEncoder().encode(input)).slice(0, 8)).toUpperCase()
      t.equal(v1.sms.text, `OPG1 PAID ${m.ref} ${m.amount} ${m.currency} ${m.counter} ${tag}`)
      t.same(parsePaidSms(c, smsKey, FIXED.deviceId, `${v1.sms.text}\r\n`), m, 'modem line ending ignored')
      const lower = v1.sms.text.replace(tag, tag.toLowerCase())
      t.not(lower, v1.sms.text)
      t.throws(() => parsePaidSms(c, smsKey, FIXED.deviceId, lower), { code: 'bad_encoding' })
    },
  )
}
