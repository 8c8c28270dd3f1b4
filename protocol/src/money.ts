/**
 * Money as people read and type it. On the wire and in storage an amount is an integer in the currency's minor
 * units (cents, or yen for JPY); everything a person reads goes through `formatMoney`, and everything a person
 * types goes through `parseMoney`. The number of minor-unit digits comes from Intl (ISO 4217 data in ICU), never
 * from a hand-kept table, and the conversion is done on decimal strings so no amount passes through a float.
 */

/** Why a typed amount or currency was refused; `hint` says what to type instead. */
export class MoneyError extends Error {
  override readonly name = 'MoneyError'
  readonly code: 'bad_amount' | 'bad_currency'
  readonly hint: string | undefined
  constructor(code: 'bad_amount' | 'bad_currency', message: string, hint?: string) {
    super(hint ? `${message} (${hint})` : message)
    this.code = code
    this.hint = hint
  }
}

let known: ReadonlySet<string> | undefined
const digitsCache = new Map<string, number>()

/** True when `code` is an ISO 4217 alphabetic code this runtime's Intl knows. */
export function isCurrency(code: string): boolean {
  // Engines without Intl.supportedValuesOf (some mobile JS engines) fall back to the code's shape.
  if (typeof Intl.supportedValuesOf !== 'function') return /^[A-Z]{3}$/.test(code)
  known ??= new Set(Intl.supportedValuesOf('currency'))
  return known.has(code)
}

function checkCurrency(currency: string): void {
  if (!isCurrency(currency)) {
    throw new MoneyError('bad_currency', `unknown currency '${currency}'`, 'use an ISO 4217 code such as EUR')
  }
}

/** Minor-unit digits of `currency` (2 for EUR, 0 for JPY, 3 for KWD), from Intl. */
export function minorDigits(currency: string): number {
  let d = digitsCache.get(currency)
  if (d === undefined) {
    checkCurrency(currency)
    d =
      new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ??
      2
    digitsCache.set(currency, d)
  }
  return d
}

/** The exact decimal string of a minor-unit amount: 1250 EUR → "12.50", 500 JPY → "500", -5 EUR → "-0.05". */
export function toDecimalString(amountMinor: number | bigint, currency: string): string {
  if (typeof amountMinor === 'number' && !Number.isSafeInteger(amountMinor)) {
    throw new MoneyError('bad_amount', `amount ${amountMinor} is not a whole number of minor units`)
  }
  const d = minorDigits(currency)
  const v = BigInt(amountMinor)
  const sign = v < 0n ? '-' : ''
  const digits = (v < 0n ? -v : v).toString().padStart(d + 1, '0')
  if (d === 0) return sign + digits
  return `${sign}${digits.slice(0, -d)}.${digits.slice(-d)}`
}

export interface FormatMoneyOptions {
  /** BCP 47 locale for digit grouping and the decimal sign; default 'en'. */
  locale?: string
  /**
   * 'code' (default): "1,234.50 EUR" — the same shape in every locale, easy to read in logs and terminals.
   * 'symbol': the locale's own currency format, e.g. "€1,234.50" in 'en' or "1.234,50 €" in 'de'.
   */
  display?: 'code' | 'symbol'
}

/** How a person reads an amount: `formatMoney(1250, 'EUR')` → "12.50 EUR"; `formatMoney(500, 'JPY')` → "500 JPY". */
export function formatMoney(
  amountMinor: number | bigint,
  currency: string,
  opts: FormatMoneyOptions = {},
): string {
  const decimal = toDecimalString(amountMinor, currency) as `${number}`
  const d = minorDigits(currency)
  const locale = opts.locale ?? 'en'
  if (opts.display === 'symbol') {
    return new Intl.NumberFormat(locale, { style: 'currency', currency }).format(decimal)
  }
  const n = new Intl.NumberFormat(locale, { minimumFractionDigits: d, maximumFractionDigits: d }).format(
    decimal,
  )
  return `${n} ${currency}`
}

export interface ParseMoneyOptions {
  /** Accept 0 (default: an amount must be greater than zero). */
  allowZero?: boolean
}

/**
 * What a person typed, in minor units: "12.50" or "12.5" EUR → 1250, "500" JPY → 500. Refused with a
 * `MoneyError` (code `bad_amount`) and a hint: a comma as decimal sign, more decimals than the currency has,
 * a sign, grouping, exponents, or an amount beyond the safe integer range.
 */
export function parseMoney(text: string, currency: string, opts: ParseMoneyOptions = {}): number {
  const d = minorDigits(currency)
  const s = text.trim()
  const example = d === 0 ? '500' : `12.${'5'.padEnd(d, '0')}`
  if (/^\d+,\d+$/.test(s)) {
    throw new MoneyError(
      'bad_amount',
      `'${text}' is not an amount`,
      `use a dot as the decimal sign: ${s.replace(',', '.')}`,
    )
  }
  if (s.startsWith('-')) throw new MoneyError('bad_amount', `'${text}' is negative`, 'amounts are positive')
  const m = /^(\d+)(?:\.(\d+))?$/.exec(s)
  if (!m)
    throw new MoneyError('bad_amount', `'${text}' is not an amount`, `write it like ${example} ${currency}`)
  const whole = m[1] as string
  const frac = m[2] ?? ''
  if (frac.length > d) {
    const places = d === 0 ? 'no decimal places' : `${d} decimal place${d === 1 ? '' : 's'}`
    throw new MoneyError('bad_amount', `'${text}' has too many decimals`, `${currency} has ${places}`)
  }
  const minor = BigInt(whole + frac.padEnd(d, '0'))
  if (minor > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new MoneyError('bad_amount', `'${text}' is too large`)
  }
  if (minor === 0n && !opts.allowZero) {
    throw new MoneyError('bad_amount', `'${text}' is zero`, 'an amount must be greater than zero')
  }
  return Number(minor)
}
