/**
 * What the box and money queries share: the scope a session reads in (the same isolation as the API), and the
 * reading of the numbers the driver returns.
 */

/** A session's view of the data: the tenant, and the merchant when a merchant is signed in. */
export interface Scope {
  tenantId: string
  merchantId: string | null
}

/** A count, sum or integer column as a number (the driver may return bigint or text; null reads as 0). */
export const num = (v: unknown): number => Number(v ?? 0)
