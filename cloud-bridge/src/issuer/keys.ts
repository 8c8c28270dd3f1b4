/**
 * Issuer keys per tenant: Ed25519 key pairs that sign wallet and node certificates. One key is 'active'
 * (it signs); keys rotated out stay in the keyring as 'verify' (certificates they signed still verify)
 * until an operator retires them. Secret keys are stored only sealed with the master key.
 * Key ids are the protocol's: the first 4 bytes of SHA-256(public key) as 8 hex characters.
 */
import {
  type CryptoBackend,
  generateSigningKeyPair,
  type IssuerKeyring,
  issueNodeCertificate,
  issueWalletCertificate,
  type KeyPair,
  type NodeCertificate,
  type NodeCertificateFields,
  keyId as protocolKeyId,
  type WalletCertificate,
  type WalletCertificateFields,
} from '@opg/protocol'
import { isUniqueViolation } from '../db/errors.js'
import { inTransaction } from '../db/in-transaction.js'
import type { SqlQuery } from '../db/types.js'
import { IssuerError } from './errors.js'
import type { SecretSealer } from './master-key.js'

type Q = SqlQuery

/** What the key store needs: the crypto backend and the master key. */
export interface IssuerDeps {
  c: CryptoBackend
  sealer: SecretSealer
}

/** A stored issuer key (public part). */
export interface IssuerKey {
  keyId: string
  publicKey: Uint8Array
  status: 'active' | 'verify' | 'retired'
  createdAt: Date
  retiredAt: Date | null
}

/** The signing key of a tenant. */
export interface ActiveIssuer extends KeyPair {
  keyId: string
}

interface KeyRow {
  key_id: string
  public_key: Buffer
  status: IssuerKey['status']
  created_at: Date
  retired_at: Date | null
}

const toKey = (r: KeyRow): IssuerKey => ({
  keyId: r.key_id,
  publicKey: new Uint8Array(r.public_key),
  status: r.status,
  createdAt: r.created_at,
  retiredAt: r.retired_at,
})

const aad = (tenantId: string, keyId: string) => `issuer:${tenantId}:${keyId}`

/** Insert a fresh key with `status`; a (rare) key-id collision within the tenant just draws again. */
async function insertKey(q: Q, d: IssuerDeps, tenantId: string, status: 'active'): Promise<IssuerKey | null> {
  for (let attempt = 0; ; attempt++) {
    const pair = generateSigningKeyPair(d.c)
    const kid = protocolKeyId(d.c, pair.publicKey)
    try {
      const r = await q.query<KeyRow>(
        `INSERT INTO issuer_keys (tenant_id, key_id, public_key, secret_key_sealed, status)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant_id) WHERE status = 'active' DO NOTHING
         RETURNING key_id, public_key, status, created_at, retired_at`,
        [tenantId, kid, pair.publicKey, d.sealer.seal(pair.secretKey, aad(tenantId, kid)), status],
      )
      return r.rows[0] ? toKey(r.rows[0]) : null
    } catch (err) {
      if (attempt < 3 && isUniqueViolation(err)) continue
      throw err
    }
  }
}

async function currentActive(q: Q, tenantId: string): Promise<IssuerKey | null> {
  const r = await q.query<KeyRow>(
    `SELECT key_id, public_key, status, created_at, retired_at FROM issuer_keys
      WHERE tenant_id = $1 AND status = 'active'`,
    [tenantId],
  )
  return r.rows[0] ? toKey(r.rows[0]) : null
}

/** Give a tenant its first issuer key; if it has an active key already, return that one. */
export async function initIssuer(q: Q, d: IssuerDeps, tenantId: string): Promise<IssuerKey> {
  const created = await insertKey(q, d, tenantId, 'active')
  if (created) return created
  const existing = await currentActive(q, tenantId)
  if (!existing) throw new IssuerError('no_issuer', 'active issuer key vanished during init; retry')
  return existing
}

/**
 * Make a new active key; the previous one becomes 'verify' (still in the keyring). Must run inside a
 * transaction (`tx`): rotations of one tenant are serialized on its tenant row.
 */
export async function rotateIssuer(tx: Q, d: IssuerDeps, tenantId: string): Promise<IssuerKey> {
  if (!(await inTransaction(tx)))
    throw new IssuerError('not_in_transaction', 'rotateIssuer needs a transaction')
  const t = await tx.query('SELECT id FROM tenants WHERE id = $1 FOR UPDATE', [tenantId])
  if (t.rows.length === 0) throw new IssuerError('no_issuer', `no tenant ${tenantId}`)
  await tx.query("UPDATE issuer_keys SET status = 'verify' WHERE tenant_id = $1 AND status = 'active'", [
    tenantId,
  ])
  const created = await insertKey(tx, d, tenantId, 'active')
  if (!created) throw new IssuerError('no_issuer', 'concurrent rotation; retry')
  return created
}

/** Retire a key: it leaves the keyring, so certificates it signed stop verifying. The active key cannot be. */
export async function retireIssuerKey(q: Q, tenantId: string, keyId: string): Promise<void> {
  const r = await q.query<{ status: string }>(
    'SELECT status FROM issuer_keys WHERE tenant_id = $1 AND key_id = $2',
    [tenantId, keyId],
  )
  const status = r.rows[0]?.status
  if (!status) throw new IssuerError('unknown_key', `no issuer key ${keyId}`)
  if (status === 'active') throw new IssuerError('active_key', 'rotate before retiring the active key')
  await q.query(
    `UPDATE issuer_keys SET status = 'retired', retired_at = now()
      WHERE tenant_id = $1 AND key_id = $2 AND status = 'verify'`,
    [tenantId, keyId],
  )
}

/** Every key of a tenant, newest first. */
export async function listIssuerKeys(q: Q, tenantId: string): Promise<IssuerKey[]> {
  const r = await q.query<KeyRow>(
    `SELECT key_id, public_key, status, created_at, retired_at FROM issuer_keys
      WHERE tenant_id = $1 ORDER BY created_at DESC, key_id`,
    [tenantId],
  )
  return r.rows.map(toKey)
}

/** The tenant's keyring: public keys by key id of every key not retired (active and verify). */
export async function issuerKeyring(q: Q, tenantId: string): Promise<IssuerKeyring> {
  const r = await q.query<{ key_id: string; public_key: Buffer }>(
    "SELECT key_id, public_key FROM issuer_keys WHERE tenant_id = $1 AND status <> 'retired' ORDER BY key_id",
    [tenantId],
  )
  return new Map(r.rows.map((row) => [row.key_id, new Uint8Array(row.public_key)]))
}

/** The tenant's active signing key, unsealed. */
export async function activeIssuer(q: Q, d: IssuerDeps, tenantId: string): Promise<ActiveIssuer> {
  const r = await q.query<{ key_id: string; public_key: Buffer; secret_key_sealed: Buffer }>(
    `SELECT key_id, public_key, secret_key_sealed FROM issuer_keys WHERE tenant_id = $1 AND status = 'active'`,
    [tenantId],
  )
  const row = r.rows[0]
  if (!row) throw new IssuerError('no_issuer', `tenant ${tenantId} has no active issuer key`)
  const secretKey = d.sealer.open(row.secret_key_sealed, aad(tenantId, row.key_id))
  const publicKey = new Uint8Array(row.public_key)
  // A sealed seed that opens but does not match the stored public key means the row was tampered with.
  if (Buffer.compare(Buffer.from(d.c.ed25519PublicKey(secretKey)), Buffer.from(publicKey)) !== 0) {
    throw new IssuerError('unseal_failed', 'issuer secret key does not match its public key')
  }
  return { keyId: row.key_id, publicKey, secretKey }
}

/** Sign a wallet certificate with the tenant's active key. */
export async function signWalletCertificate(
  q: Q,
  d: IssuerDeps,
  tenantId: string,
  fields: WalletCertificateFields,
): Promise<WalletCertificate> {
  return issueWalletCertificate(d.c, await activeIssuer(q, d, tenantId), fields)
}

/** Sign a node certificate with the tenant's active key (the tenant id is the certificate's own). */
export async function signNodeCertificate(
  q: Q,
  d: IssuerDeps,
  fields: NodeCertificateFields,
): Promise<NodeCertificate> {
  return issueNodeCertificate(d.c, await activeIssuer(q, d, fields.tenantId), fields)
}
