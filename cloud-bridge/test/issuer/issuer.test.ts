import { decodeWalletCertificate, verifyNodeCertificate, verifyWalletCertificate } from '@opg/protocol'
import { nodeBackend as c } from '@opg/protocol/node'
import t from 'tap'
import {
  activeIssuer,
  initIssuer,
  issuerKeyring,
  listIssuerKeys,
  MasterKey,
  retireIssuerKey,
  rotateIssuer,
  signNodeCertificate,
  signWalletCertificate,
} from '../../src/issuer/index.js'
import { forEachDatabase, seedTenant } from '../support/databases.js'

const master = new MasterKey(c, Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'))
const d = { c, sealer: master }
const NOW = 1_800_000_000

t.test('the master key seals with AES-128-GCM bound to a label, and has no default', async (t) => {
  const sealed = master.seal(new Uint8Array([1, 2, 3]), 'a')
  t.equal(sealed.length, 12 + 3 + 16)
  t.same([...master.open(sealed, 'a')], [1, 2, 3])
  t.throws(() => master.open(sealed, 'b'), { code: 'unseal_failed' }, 'another label does not open it')
  const other = MasterKey.parse(c, 'AAECAwQFBgcICQoLDA0ODw==')
  t.same([...other.open(sealed, 'a')], [1, 2, 3], 'base64 and hex of the same key are the same key')
  t.throws(() => MasterKey.parse(c, undefined), { code: 'bad_master_key' })
  t.throws(() => MasterKey.parse(c, 'abcd'), { code: 'bad_master_key' })
  t.throws(() => MasterKey.parse(c, 'ff'.repeat(16)).open(sealed, 'a'), { code: 'unseal_failed' })
})

forEachDatabase(
  t,
  async (t, db) => {
    t.test('init makes one active key; init again returns it', async (t) => {
      const tenant = await seedTenant(db)
      const k1 = await initIssuer(db, d, tenant)
      const k2 = await initIssuer(db, d, tenant)
      t.equal(k1.status, 'active')
      t.equal(k2.keyId, k1.keyId)
      t.match(k1.keyId, /^[0-9a-f]{8}$/)
      const ring = await issuerKeyring(db, tenant)
      t.same([...ring.keys()], [k1.keyId])
    })

    t.test('the secret key is stored sealed, never in plaintext', async (t) => {
      const tenant = await seedTenant(db)
      await initIssuer(db, d, tenant)
      const active = await activeIssuer(db, d, tenant)
      const r = await db.query<{ s: Buffer }>(
        'SELECT secret_key_sealed AS s FROM issuer_keys WHERE tenant_id = $1',
        [tenant],
      )
      const stored = r.rows[0]!.s
      t.equal(stored.indexOf(Buffer.from(active.secretKey)), -1, 'the seed does not appear in the row')
      t.same([...c.ed25519PublicKey(active.secretKey)], [...active.publicKey])
      // A sealed key moved to another tenant's row does not open there.
      const other = await seedTenant(db)
      await db.query(
        `INSERT INTO issuer_keys (tenant_id, key_id, public_key, secret_key_sealed, status)
         SELECT $1::text, key_id, public_key, secret_key_sealed, 'active' FROM issuer_keys WHERE tenant_id = $2::text`,
        [other, tenant],
      )
      await t.rejects(activeIssuer(db, d, other), { code: 'unseal_failed' })
    })

    t.test('rotation: new certificates use the new key, old ones verify until retired', async (t) => {
      const tenant = await seedTenant(db)
      const merchant = '00000000000000b1'
      const old = await initIssuer(db, d, tenant)
      const fields = {
        walletId: '00000000000000a1',
        publicKey: c.ed25519PublicKey(c.randomBytes(32)),
        perPaymentLimit: 2000,
        purseAmount: 5000,
        currency: 'EUR',
        counterBase: 0,
        issuedAt: NOW,
        expiresAt: NOW + 3600,
      }
      const oldCert = await signWalletCertificate(db, d, tenant, fields)
      t.equal(oldCert.issuerKeyId, old.keyId)

      const fresh = await db.transaction((tx) => rotateIssuer(tx, d, tenant))
      t.not(fresh.keyId, old.keyId)
      const newCert = await signWalletCertificate(db, d, tenant, fields)
      t.equal(newCert.issuerKeyId, fresh.keyId)
      const node = await signNodeCertificate(db, d, {
        tenantId: tenant,
        merchantId: merchant,
        deviceId: '00000000000000c1',
        signingKey: c.ed25519PublicKey(c.randomBytes(32)),
        encryptionKey: c.x25519PublicKey(c.randomBytes(32)),
        issuedAt: NOW,
        expiresAt: NOW + 3600,
      })
      t.equal(node.issuerKeyId, fresh.keyId)

      let ring = await issuerKeyring(db, tenant)
      t.same([...ring.keys()].sort(), [old.keyId, fresh.keyId].sort())
      verifyWalletCertificate(c, decodeWalletCertificate(oldCert.bytes), ring, NOW + 10)
      verifyWalletCertificate(c, newCert, ring, NOW + 10)
      verifyNodeCertificate(c, node, ring, NOW + 10)

      await t.rejects(retireIssuerKey(db, tenant, fresh.keyId), { code: 'active_key' })
      await t.rejects(retireIssuerKey(db, tenant, 'deadbeef'), { code: 'unknown_key' })
      await retireIssuerKey(db, tenant, old.keyId)
      ring = await issuerKeyring(db, tenant)
      t.same([...ring.keys()], [fresh.keyId])
      t.throws(() => verifyWalletCertificate(c, oldCert, ring, NOW + 10), { code: 'unknown_key' })
      const listed = await listIssuerKeys(db, tenant)
      t.same(listed.map((k) => k.status).sort(), ['active', 'retired'])
    })

    t.test(
      'rotation refuses to run outside a transaction; a tenant without keys has no issuer',
      async (t) => {
        const tenant = await seedTenant(db)
        await t.rejects(rotateIssuer(db, d, tenant), { code: 'not_in_transaction' })
        await t.rejects(activeIssuer(db, d, tenant), { code: 'no_issuer' })
      },
    )

    t.test('concurrent rotations leave exactly one active key', async (t) => {
      const tenant = await seedTenant(db)
      await initIssuer(db, d, tenant)
      await Promise.all(Array.from({ length: 4 }, () => db.transaction((tx) => rotateIssuer(tx, d, tenant))))
      const keys = await listIssuerKeys(db, tenant)
      t.equal(keys.length, 5)
      t.equal(keys.filter((k) => k.status === 'active').length, 1)
    })
  },
  { migrate: { upTo: 99 } },
)
