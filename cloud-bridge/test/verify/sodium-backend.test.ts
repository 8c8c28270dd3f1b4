// The bridge's Ed25519 verify (libsodium behind the strict encoding rules) answers exactly as protocol's
// node:crypto backend: on the published strict vectors, on RFC 8032's, and on random and mutated signatures;
// its SHA-256 (libsodium too) is node:crypto's.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fromHex, utf8 } from '@opg/protocol'
import { createNodeBackend } from '@opg/protocol/node'
import fc from 'fast-check'
import t from 'tap'
import { createBridgeBackend } from '../../src/crypto.js'

const vectors = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../../protocol/test-vectors/${name}`, import.meta.url), 'utf8'))
const bridge = createBridgeBackend()
const node = createNodeBackend()

t.test('the strict vectors: every case answers what SPEC.md §2.1 says every verifier answers', async (t) => {
  const { cases } = vectors('ed25519-strict.json')
  t.ok(cases.length >= 7, 'the published cases')
  for (const v of cases) {
    const [pub, msg, sig] = [fromHex(v.publicKey), fromHex(v.message), fromHex(v.signature)]
    t.equal(bridge.ed25519Verify(pub, msg, sig), v.valid, `${v.name}: ${v.valid ? 'accepted' : 'refused'}`)
    t.equal(node.ed25519Verify(pub, msg, sig), v.valid, `${v.name}: node:crypto agrees`)
  }
})

t.test("RFC 8032's test signatures verify, and a flipped bit anywhere does not", async (t) => {
  for (const v of vectors('rfc.json').ed25519) {
    const [pub, msg, sig] = [fromHex(v.publicKey), fromHex(v.message), fromHex(v.signature)]
    t.ok(bridge.ed25519Verify(pub, msg, sig), `${v.name} verifies`)
    for (let bit = 0; bit < 512; bit += 37) {
      const bad = sig.slice()
      bad[bit >> 3]! ^= 1 << (bit & 7)
      t.notOk(bridge.ed25519Verify(pub, msg, bad), `${v.name}: signature bit ${bit} flipped`)
    }
  }
})

t.test('bad lengths are a refusal, never a throw', async (t) => {
  const secret = node.randomBytes(32)
  const pub = node.ed25519PublicKey(secret)
  const msg = utf8('a message')
  const sig = node.ed25519Sign(secret, msg)
  t.ok(bridge.ed25519Verify(pub, msg, sig))
  t.notOk(bridge.ed25519Verify(pub.subarray(0, 31), msg, sig), 'short key')
  t.notOk(bridge.ed25519Verify(pub, msg, sig.subarray(0, 63)), 'short signature')
  t.notOk(bridge.ed25519Verify(new Uint8Array(33), msg, sig), 'long key')
  t.notOk(bridge.ed25519Verify(pub, msg, new Uint8Array(65)), 'long signature')
})

t.test('on random keys, messages and mutations, the two backends give the same answer', async (t) => {
  let accepted = 0
  let refused = 0
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ maxLength: 300 }),
      fc.constantFrom('none', 'sig', 'msg', 'key', 's+L', 'random-sig'),
      fc.nat(),
      (secret, msg, mutate, at) => {
        let pub = node.ed25519PublicKey(secret)
        let sig = node.ed25519Sign(secret, msg)
        let m: Uint8Array = msg
        if (mutate === 'sig') sig = flip(sig, at)
        if (mutate === 'msg' && m.length > 0) m = flip(m, at)
        if (mutate === 'key') pub = flip(pub, at)
        if (mutate === 's+L') sig = addL(sig)
        if (mutate === 'random-sig') sig = node.randomBytes(64)
        const answer = bridge.ed25519Verify(pub, m, sig)
        if (answer !== node.ed25519Verify(pub, m, sig)) return false
        if (mutate === 'none' && !answer) return false
        answer ? accepted++ : refused++
        return true
      },
    ),
    { numRuns: 3000 },
  )
  t.ok(accepted > 300 && refused > 1000, `both answers seen (accepted ${accepted}, refused ${refused})`)
})

/** A copy of `b` with one bit flipped. */
function flip(b: Uint8Array, at: number): Uint8Array {
  const out = b.slice()
  out[at % b.length]! ^= 1 << (at % 8)
  return out
}

/** The mauled copy of a signature: S + L (same value mod L, a non-canonical encoding when it fits). */
function addL(sig: Uint8Array): Uint8Array {
  const L = (1n << 252n) + 27742317777372353535851937790883648493n
  let s = 0n
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i]!)
  s += L
  const out = sig.slice()
  for (let i = 32; i < 64; i++) {
    out[i] = Number(s & 0xffn)
    s >>= 8n
  }
  return out
}

t.test("SHA-256 on libsodium is node:crypto's SHA-256", async (t) => {
  // FIPS 180-2 example "abc", then random lengths around the block size and views into larger buffers.
  t.equal(
    Buffer.from(bridge.sha256(new TextEncoder().encode('abc'))).toString('hex'),
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  )
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(8), (bytes, skip) => {
      const view = bytes.subarray(Math.min(skip, bytes.length))
      const d = bridge.sha256(view)
      return d.length === 32 && Buffer.from(d).equals(createHash('sha256').update(view).digest())
    }),
    { numRuns: 2000 },
  )
  t.pass('2,000 random inputs hash alike')
})
