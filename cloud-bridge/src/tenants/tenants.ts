/**
 * Tenants and merchants. A tenant is one operator's world (its issuer key, wallets, merchants, boxes);
 * creating one also creates its first operator key, which is the bootstrap credential.
 */
import { isIsoCurrency } from '../api/currency.js'
import { BridgeError } from '../api/errors.js'
import type { Database, Queryable } from '../api/ports.js'
import { type CreatedKey, createApiKey } from '../auth/api-keys.js'
import { isUniqueViolation } from '../db/errors.js'
import { newId } from '../db/ids.js'

/** A tenant as stored. */
export interface Tenant {
  id: string
  name: string
  currency: string
  createdAt: Date
}

/** A merchant of a tenant. */
export interface Merchant {
  id: string
  name: string
  createdAt: Date
  /** Gets a readable SMS for each online payment, when set. */
  phone: string | null
  /** The payout bank account at the payment provider (never the account number). */
  bankAccountRef: string | null
}

interface TenantRow {
  id: string
  name: string
  currency: string
  created_at: Date
}

/** Create a tenant and its first operator key (shown once). Fails with `conflict` when the name is taken. */
export async function createTenant(
  db: Database,
  name: string,
  currency = 'EUR',
): Promise<{ tenant: Tenant; operatorKey: CreatedKey }> {
  if (!isIsoCurrency(currency)) throw new BridgeError('invalid_request', 'currency must be ISO 4217')
  if (name.trim() === '' || name.length > 100) throw new BridgeError('invalid_request', 'bad tenant name')
  try {
    return await db.transaction(async (tx) => {
      const id = newId()
      const { rows } = await tx.query<TenantRow>(
        'INSERT INTO tenants (id, name, currency) VALUES ($1, $2, $3) RETURNING id, name, currency, created_at',
        [id, name, currency],
      )
      const operatorKey = await createApiKey(tx, id, 'operator', null, 'bootstrap')
      return { tenant: toTenant(rows[0]!), operatorKey }
    })
  } catch (err) {
    if (isUniqueViolation(err)) throw new BridgeError('conflict', `tenant ${name} exists`, { cause: err })
    throw err
  }
}

function toTenant(r: TenantRow): Tenant {
  return { id: r.id, name: r.name, currency: r.currency, createdAt: new Date(r.created_at) }
}

/** A tenant by id. */
export async function getTenant(q: Queryable, id: string): Promise<Tenant | null> {
  const { rows } = await q.query<TenantRow>(
    'SELECT id, name, currency, created_at FROM tenants WHERE id = $1',
    [id],
  )
  return rows[0] ? toTenant(rows[0]) : null
}

/** A tenant by name (the CLI addresses tenants by name). */
export async function findTenantByName(q: Queryable, name: string): Promise<Tenant | null> {
  const { rows } = await q.query<TenantRow>(
    'SELECT id, name, currency, created_at FROM tenants WHERE name = $1',
    [name],
  )
  return rows[0] ? toTenant(rows[0]) : null
}

/** Every tenant, for the CLI and the issuer key rotation. */
export async function listTenants(q: Queryable): Promise<Tenant[]> {
  const { rows } = await q.query<TenantRow>(
    'SELECT id, name, currency, created_at FROM tenants ORDER BY name',
  )
  return rows.map(toTenant)
}

interface MerchantRow {
  id: string
  name: string
  created_at: Date
  phone: string | null
  bank_account_ref: string | null
}

const toMerchant = (r: MerchantRow): Merchant => ({
  id: r.id,
  name: r.name,
  createdAt: new Date(r.created_at),
  phone: r.phone ?? null,
  bankAccountRef: r.bank_account_ref ?? null,
})

/** Create a merchant and a merchant key (shown once). */
export async function createMerchant(
  db: Database,
  tenantId: string,
  name: string,
): Promise<{ merchant: Merchant; apiKey: CreatedKey }> {
  return db.transaction(async (tx) => {
    const id = newId()
    const { rows } = await tx.query<MerchantRow>(
      'INSERT INTO merchants (tenant_id, id, name) VALUES ($1, $2, $3) RETURNING id, name, created_at, phone, bank_account_ref',
      [tenantId, id, name],
    )
    const apiKey = await createApiKey(tx, tenantId, 'merchant', id, `merchant ${name}`)
    return { merchant: toMerchant(rows[0]!), apiKey }
  })
}

/** A merchant of the tenant, or null. */
export async function getMerchant(q: Queryable, tenantId: string, id: string): Promise<Merchant | null> {
  const { rows } = await q.query<MerchantRow>(
    'SELECT id, name, created_at, phone, bank_account_ref FROM merchants WHERE tenant_id = $1 AND id = $2',
    [tenantId, id],
  )
  return rows[0] ? toMerchant(rows[0]) : null
}

/** The tenant's merchants. */
export async function listMerchants(q: Queryable, tenantId: string): Promise<Merchant[]> {
  const { rows } = await q.query<MerchantRow>(
    'SELECT id, name, created_at, phone, bank_account_ref FROM merchants WHERE tenant_id = $1 ORDER BY created_at, id',
    [tenantId],
  )
  return rows.map(toMerchant)
}
