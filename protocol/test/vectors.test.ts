import { readFileSync } from 'node:fs'
import t from 'tap'
import { buildCommandVectors } from '../scripts/command-vectors.js'
import { buildVectors, FIXED } from '../scripts/vectors.js'
import {
  base45Decode,
  base45Encode,
  CommandSchema,
  checkCommandSeq,
  deriveKey,
  fromHex,
  hpkeDeriveKeyPair,
  hpkeKeySchedule,
  hpkeNonce,
  hpkeOpen,
  hpkeSeal,
  hpkeSetupSender,
  openMqtt,
  toHex,
  utf8,
} from '../src/index.js'
import { backends } from './backends.js'

const published = JSON.parse(readFileSync(new URL('../test-vectors/opg-v1.json', import.meta.url), 'utf8'))
const rfc = JSON.parse(readFileSync(new URL('../test-vectors/rfc.json', import.meta.url), 'utf8'))

for (const c of backends) {
  t.test(`${c.name}: rebuilds the published opg vectors byte for byte`, async (t) => {
    t.same(JSON.parse(JSON.stringify(buildVectors(c))), published)
  })

  t.test(`${c.name}: RFC 9180 A.1 (DHKEM X25519, HKDF-SHA256, AES-128-GCM), base mode`, async (t) => {
    const v = rfc.hpke
    const e = hpkeDeriveKeyPair(c, fromHex(v.ikmE))
    const r = hpkeDeriveKeyPair(c, fromHex(v.ikmR))
    t.equal(toHex(e.secretKey), v.skEm)
    t.equal(toHex(e.publicKey), v.pkEm)
    t.equal(toHex(r.secretKey), v.skRm)
    t.equal(toHex(r.publicKey), v.pkRm)
    const s = hpkeSetupSender(c, r.publicKey, fromHex(v.info), e.secretKey)
    t.equal(toHex(s.enc), v.enc)
    t.equal(toHex(s.sharedSecret), v.sharedSecret)
    const ks = hpkeKeySchedule(c, s.sharedSecret, fromHex(v.info))
    t.equal(toHex(ks.key), v.key)
    t.equal(toHex(ks.baseNonce), v.baseNonce)
    t.equal(toHex(ks.exporterSecret), v.exporterSecret)
    for (const enc of v.encryptions) {
      const nonce = hpkeNonce(ks.baseNonce, enc.seq)
      t.equal(toHex(nonce), enc.nonce, `nonce seq ${enc.seq}`)
      t.equal(
        toHex(c.aesGcmSeal(ks.key, nonce, fromHex(v.pt), fromHex(enc.aad))),
        enc.ct,
        `ct seq ${enc.seq}`,
      )
    }
    const sealed = hpkeSeal(
      c,
      r.publicKey,
      fromHex(v.info),
      fromHex(v.encryptions[0].aad),
      fromHex(v.pt),
      e.secretKey,
    )
    t.equal(toHex(sealed.ct), v.encryptions[0].ct)
    const opened = hpkeOpen(
      c,
      sealed.enc,
      r.secretKey,
      r.publicKey,
      fromHex(v.info),
      fromHex(v.encryptions[0].aad),
      sealed.ct,
    )
    t.equal(toHex(opened), v.pt)
  })

  t.test(`${c.name}: RFC 4493 AES-CMAC`, async (t) => {
    for (const m of rfc.cmac.cases) {
      t.equal(
        toHex(c.aesCmac(fromHex(rfc.cmac.key), fromHex(m.message))),
        m.tag,
        `${m.message.length / 2}-byte message`,
      )
    }
  })
}

t.test('RFC 9285 Base45 examples', async (t) => {
  for (const ex of rfc.base45) {
    t.equal(base45Encode(utf8(ex.text)), ex.base45)
    t.same(base45Decode(ex.base45), utf8(ex.text))
  }
})

const commands = JSON.parse(
  readFileSync(new URL('../test-vectors/opg-v1-commands.json', import.meta.url), 'utf8'),
)
for (const c of backends) {
  t.test(`${c.name}: rebuilds the published command vectors byte for byte`, async (t) => {
    t.same(JSON.parse(JSON.stringify(buildCommandVectors(c))), commands)
  })
  t.test(`${c.name}: a published sealed command opens to its message; replays are refused`, async (t) => {
    const key = deriveKey(c, fromHex(FIXED.deviceSecret), 'mqtt', fromHex(FIXED.deviceId))
    for (const k of ['time', 'revocations'] as const) {
      const opened = openMqtt(c, key, commands.topic, CommandSchema, fromHex(commands[k].sealed))
      t.same(opened, commands[k].message)
      t.throws(
        () =>
          openMqtt(
            c,
            key,
            commands.topic.replace('/down/cmd', '/down/ack'),
            CommandSchema,
            fromHex(commands[k].sealed),
          ),
        { code: 'bad_tag' },
        'bound to its topic',
      )
    }
    for (const check of commands.sequence.checks) {
      t.equal(
        checkCommandSeq(commands.sequence.marks, check).apply,
        check.apply,
        `${check.type} seq ${check.seq}`,
      )
    }
  })
}

t.test('command schema: seq is required, positive and an integer', async (t) => {
  const base = { v: 1, id: '01890a5d-ac96-774b-bcce-b302099a8059', type: 'time', now: 1 }
  t.notOk(CommandSchema.safeParse(base).success, 'no seq')
  t.notOk(CommandSchema.safeParse({ ...base, seq: 0 }).success, 'zero')
  t.notOk(CommandSchema.safeParse({ ...base, seq: 1.5 }).success, 'fraction')
  t.ok(CommandSchema.safeParse({ ...base, seq: 1 }).success)
})
