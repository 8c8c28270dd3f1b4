/**
 * Daily top-up limits: how much card money may enter one wallet, and one tenant, in any 24 hours. The window
 * is read with the database clock (`now()`), so replicas with drifting clocks agree, and counts every top-up
 * that is not failed (a pending charge may still succeed). Checked inside the top-up's transaction under a
 * per-tenant lock, so concurrent top-ups cannot pass the limit together.
 */
import type { Queryable, Tx } from '../db/types.js'
import { OnlineError } from './errors.js'

/** Limits in minor units of the tenant currency. */
export interface TopupLimits {
  perWalletDaily: bigint
  perTenantDaily: bigint
}

/** The defaults when neither the config nor the tenant sets a limit (documented in the README). */
export const DEFAULT_TOPUP_LIMITS: TopupLimits = {
  perWalletDaily: 1_000_000n,
  perTenantDaily: 100_000_000n,
}

/** The limits in force for a tenant: its own where set, else the bridge defaults. */
export async function topupLimits(
  q: Queryable,
  tenantId: string,
  defaults: TopupLimits = DEFAULT_TOPUP_LIMITS,
): Promise<TopupLimits> {
  const { rows } = await q.query<{ per_wallet_daily: bigint | null; per_tenant_daily: bigint | null }>(
    'SELECT per_wallet_daily, per_tenant_daily FROM topup_limits WHERE tenant_id = $1',
    [tenantId],
  )
  return {
    perWalletDaily: rows[0]?.per_wallet_daily ?? defaults.perWalletDaily,
    perTenantDaily: rows[0]?.per_tenant_daily ?? defaults.perTenantDaily,
  }
}

/** Set (or, with null, reset to the default) a tenant's limits. */
export async function setTopupLimits(
  q: Queryable,
  tenantId: string,
  l: { perWalletDaily: bigint | null; perTenantDaily: bigint | null },
): Promise<void> {
  await q.query(
    `INSERT INTO topup_limits (tenant_id, per_wallet_daily, per_tenant_daily) VALUES ($1, $2, $3)
     ON CONFLICT (tenant_id) DO UPDATE SET per_wallet_daily = $2, per_tenant_daily = $3, updated_at = now()`,
    [tenantId, l.perWalletDaily, l.perTenantDaily],
  )
}

/** Refuse a top-up of `amount` that would take the wallet or the tenant past its daily limit. */
export async function checkTopupLimits(
  tx: Tx,
  tenantId: string,
  walletId: string,
  amount: bigint,
  defaults?: TopupLimits,
): Promise<void> {
  // One top-up of a tenant at a time passes this check, so two cannot both fit under the last headroom.
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`topup-limit:${tenantId}`])
  const limits = await topupLimits(tx, tenantId, defaults)
  const { rows } = await tx.query<{ wallet: bigint | null; tenant: bigint | null }>(
    `SELECT sum(amount) FILTER (WHERE wallet_id = $2) AS wallet, sum(amount) AS tenant FROM online_payments
     WHERE tenant_id = $1 AND kind = 'topup' AND status <> 'failed' AND created_at > now() - interval '1 day'`,
    [tenantId, walletId],
  )
  const wallet = BigInt(rows[0]?.wallet ?? 0n)
  const tenant = BigInt(rows[0]?.tenant ?? 0n)
  if (wallet + amount > limits.perWalletDaily)
    throw new OnlineError('topup_limit_exceeded', 'wallet daily top-up limit reached')
  if (tenant + amount > limits.perTenantDaily)
    throw new OnlineError('topup_limit_exceeded', 'tenant daily top-up limit reached')
}
