// Provisioning over BLE (SPEC.md §12), as pure functions: both ends derive the same proofs and bundle key only
// from the same code; a sealed bundle opens only under that attempt's key; typed codes are normalised; every
// malformed message is a typed error.
import t from 'tap'
import {
  decodeProvisionMessage,
  encodeProvisionMessage,
  formatSetupCode,
  newSetupCode,
  normalizeSetupCode,
  openProvisionBundle,
  type ProvisionMessage,
  proofMatches,
  provisionEphemeral,
  provisionKeys,
  sealProvisionBundle,
} from '../src/index.js'

const attempt = (techCode: string, boxCode: string, setupId = 'K7Q2M9XA') => {
  const tech = provisionEphemeral()
  const box = provisionEphemeral()
  return {
    tech: provisionKeys(techCode, setupId, tech, box.publicKey, tech.publicKey, box.publicKey),
    box: provisionKeys(boxCode, setupId, box, tech.publicKey, tech.publicKey, box.publicKey),
  }
}

t.test('same code: same proofs and bundle key on both ends; the bundle round-trips', async (t) => {
  const { code } = newSetupCode()
  const { tech, box } = attempt(code, code)
  t.ok(proofMatches(box.techProof, tech.techProof))
  t.ok(proofMatches(tech.boxProof, box.boxProof))
  t.notSame(tech.techProof, tech.boxProof, 'the two directions differ: a proof cannot be reflected')
  const plain = new TextEncoder().encode('{"files":{}}')
  t.same(openProvisionBundle(box, sealProvisionBundle(tech, plain)), plain)
})

t.test('a different code, setup id or attempt gives unrelated keys', async (t) => {
  const a = newSetupCode().code
  const b = newSetupCode().code
  const wrong = attempt(a, b)
  t.notOk(proofMatches(wrong.box.techProof, wrong.tech.techProof))
  t.throws(() => openProvisionBundle(wrong.box, sealProvisionBundle(wrong.tech, new Uint8Array(8))), {
    code: 'bad_encoding',
  })
  const one = attempt(a, a)
  const two = attempt(a, a)
  t.notSame(one.tech.techProof, two.tech.techProof, 'fresh ephemeral keys: a recorded proof is useless later')
  const tech = provisionEphemeral()
  const box = provisionEphemeral()
  const x = provisionKeys(a, 'AAAAAAAA', tech, box.publicKey, tech.publicKey, box.publicKey)
  const y = provisionKeys(a, 'BBBBBBBB', box, tech.publicKey, tech.publicKey, box.publicKey)
  t.notOk(proofMatches(x.techProof, y.techProof), 'the setup id is bound in')
})

t.test('a tampered sealed bundle is refused', async (t) => {
  const { code } = newSetupCode()
  const { tech, box } = attempt(code, code)
  const sealed = sealProvisionBundle(tech, new Uint8Array(100))
  sealed[40]! ^= 1
  t.throws(() => openProvisionBundle(box, sealed), { code: 'bad_encoding' })
})

t.test('setup codes: 16 base32 characters, printed in groups, typed loosely', async (t) => {
  const { setupId, code } = newSetupCode()
  t.match(setupId, /^[0-9A-Z]{8}$/)
  t.match(code, /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/)
  t.equal(normalizeSetupCode('7kq2 m9xa-p3rt v8wz'), '7KQ2M9XAP3RTV8WZ')
  t.equal(normalizeSetupCode('OIL0-0000-0000-0000'), '0110000000000000', 'O, I and L read as 0, 1, 1')
  t.equal(formatSetupCode('7kq2m9xap3rtv8wz'), '7KQ2-M9XA-P3RT-V8WZ')
  t.throws(() => normalizeSetupCode('7KQ2-M9XA-P3RT'), { code: 'bad_encoding' })
  t.throws(() => normalizeSetupCode('7KQ2-M9XA-P3RT-V8WU'), { code: 'bad_encoding' }, 'U is not base32')
})

t.test('messages round-trip; malformed ones are bad_encoding', async (t) => {
  const pk = provisionEphemeral().publicKey
  const messages: ProvisionMessage[] = [
    { type: 'hello', publicKey: pk },
    { type: 'challenge', publicKey: pk, attemptsLeft: 9 },
    { type: 'proof', tag: new Uint8Array(16).fill(1) },
    { type: 'accept', tag: new Uint8Array(16).fill(2) },
    { type: 'bundle', sealed: new Uint8Array(40).fill(3) },
    { type: 'installed' },
    { type: 'refused', reason: 'locked', attemptsLeft: 0 },
  ]
  for (const m of messages) t.same(decodeProvisionMessage(encodeProvisionMessage(m)), m, m.type)
  const hello = encodeProvisionMessage(messages[0]!)
  for (const bad of [
    new Uint8Array(0),
    hello.subarray(0, 20),
    Uint8Array.of(0x01, 0x02, ...pk), // version 2
    Uint8Array.of(0x03, 1, 2, 3),
    Uint8Array.of(0x05, 1, 2),
    Uint8Array.of(0x06, 0),
    Uint8Array.of(0x7f, 0x99, 0),
    Uint8Array.of(0x42),
  ]) {
    t.throws(() => decodeProvisionMessage(bad), { code: 'bad_encoding' })
  }
})
