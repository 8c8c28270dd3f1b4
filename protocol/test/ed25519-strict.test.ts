import { createPublicKey, randomBytes, verify } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { ed25519 } from '@noble/curves/ed25519.js'
import t from 'tap'
import { buildStrictVectors } from '../scripts/strict-vectors.js'
import { ED25519_L, isCanonicalPointEncoding, leToBigInt } from '../src/crypto/ed25519-strict.js'
import {
  decodeToken,
  fromHex,
  isStrictEd25519PublicKey,
  strictEd25519Failure,
  toHex,
  tokenBodyHash,
  verifyToken,
} from '../src/index.js'
import { backends } from './backends.js'
import { code, NOW_S, world } from './fixtures.js'

const published = JSON.parse(
  readFileSync(new URL('../test-vectors/ed25519-strict.json', import.meta.url), 'utf8'),
)
const rfc8032 = JSON.parse(readFileSync(new URL('../test-vectors/rfc.json', import.meta.url), 'utf8'))

t.test(
  'the byte comparisons answer as the bigint definitions, at every boundary and on random bytes',
  async (t) => {
    const P = (1n << 255n) - 19n
    const le = (n: bigint) => Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn))
    const canonical = (enc: Uint8Array) => {
      const y = leToBigInt(enc) & ((1n << 255n) - 1n)
      const sign = (enc[31]! & 0x80) !== 0
      return y < P && !(sign && (y === 1n || y === P - 1n))
    }
    const signBit = 1n << 255n
    const ys = [
      0n,
      1n,
      2n,
      255n,
      256n,
      P - 2n,
      P - 1n,
      P,
      P + 1n,
      (1n << 255n) - 1n,
      ED25519_L - 1n,
      ED25519_L,
    ]
    const samples = [
      ...ys.flatMap((y) => [le(y), le(y | signBit)]),
      ...Array.from({ length: 2000 }, () => new Uint8Array(randomBytes(32))),
    ]
    let mismatches = 0
    for (const enc of samples) if (isCanonicalPointEncoding(enc) !== canonical(enc)) mismatches++
    t.equal(mismatches, 0, `point canonicality, ${samples.length} encodings`)
    const sig = (s: bigint) => Uint8Array.from([...new Uint8Array(32).fill(0x58), ...le(s)])
    const key = fromHex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a')
    const ss = [0n, 1n, ED25519_L - 1n, ED25519_L, ED25519_L + 1n, (1n << 253n) - 1n, (1n << 256n) - 1n]
    for (const s of [...ss, ...Array.from({ length: 500 }, () => leToBigInt(randomBytes(32)) >> 3n)]) {
      const nonCanonical = strictEd25519Failure(key, sig(s)) === 'non_canonical_s'
      if (nonCanonical !== s >= ED25519_L) mismatches++
    }
    t.equal(mismatches, 0, 'S < L')
  },
)

t.test('the strict vectors rebuild byte for byte', async (t) => {
  t.same(JSON.parse(JSON.stringify(buildStrictVectors())), published)
})

t.test('each strict rule answers a verifier that is lenient about it', async (t) => {
  const spki = (pub: Uint8Array) =>
    createPublicKey({
      key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), pub]),
      format: 'der',
      type: 'spki',
    })
  for (const v of published.cases) {
    const [pub, msg, sig] = [fromHex(v.publicKey), fromHex(v.message), fromHex(v.signature)]
    t.equal(verify(null, msg, spki(pub), sig), v.others.openssl, `${v.name}: OpenSSL alone`)
    t.equal(ed25519.verify(sig, msg, pub, { zip215: true }), v.others.nobleZip215, `${v.name}: noble zip215`)
    t.equal(
      ed25519.verify(sig, msg, pub, { zip215: false }),
      v.others.nobleRfc8032,
      `${v.name}: noble rfc8032`,
    )
  }
  t.ok(
    published.cases.every((v: { name: string; valid: boolean; others: Record<string, boolean> }) =>
      v.valid ? true : Object.values(v.others).some(Boolean) || v.name === 'non_canonical_s',
    ),
    'every refused case but S ≥ L is accepted by at least one common verifier',
  )
})

for (const c of backends) {
  t.test(`${c.name}: strict Ed25519 vectors`, async (t) => {
    for (const v of published.cases) {
      t.equal(
        c.ed25519Verify(fromHex(v.publicKey), fromHex(v.message), fromHex(v.signature)),
        v.valid,
        `${v.name}: ${v.why}`,
      )
    }
  })

  t.test(`${c.name}: a mauled token signature is refused, and names the same payment`, async (t) => {
    const w = world(c)
    const token = w.pay()
    const sig = token.bytes.subarray(token.bytes.length - 64)
    const s = leToBigInt(sig.subarray(32)) + ED25519_L
    const mauled = token.bytes.slice()
    for (let i = 0; i < 32; i++) mauled[mauled.length - 32 + i] = Number((s >> BigInt(8 * i)) & 0xffn)
    t.not(toHex(mauled), toHex(token.bytes), 'different bytes')
    t.equal(
      strictEd25519Failure(token.cert.publicKey, mauled.subarray(mauled.length - 64)),
      'non_canonical_s',
    )
    t.equal(
      code(() => verifyToken(c, decodeToken(mauled), { issuerKeys: w.keyring, nowS: NOW_S })),
      'bad_signature',
    )
    t.equal(toHex(tokenBodyHash(c, mauled)), toHex(tokenBodyHash(c, token)), 'one body: one payment identity')
  })
}

t.test('public keys fit for strict verification', async (t) => {
  for (const v of published.cases) {
    const expect = v.name !== 'small_order_a' && v.name !== 'non_canonical_a'
    t.equal(isStrictEd25519PublicKey(fromHex(v.publicKey)), expect, v.name)
  }
  t.equal(isStrictEd25519PublicKey(new Uint8Array(31)), false, 'wrong length')
})

for (const c of backends) {
  t.test(`${c.name}: RFC 8032 §7.1 signatures still verify under the strict rules`, async (t) => {
    for (const v of rfc8032.ed25519) {
      t.equal(c.ed25519Verify(fromHex(v.publicKey), fromHex(v.message), fromHex(v.signature)), true, v.name)
      t.equal(toHex(c.ed25519PublicKey(fromHex(v.secret))), v.publicKey, `${v.name}: public key`)
    }
  })
}
