/**
 * ISO 4217 currency codes the runtime knows (Intl), so a tenant, wallet, purse or invoice can only be bound to
 * a real currency: `XYZ` matches /^[A-Z]{3}$/ but is no currency, and money in it could never be paid out.
 */
const KNOWN: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'))

/** True for an ISO 4217 code this runtime supports (upper case, three letters). */
export function isIsoCurrency(code: string): boolean {
  return /^[A-Z]{3}$/.test(code) && KNOWN.has(code)
}
