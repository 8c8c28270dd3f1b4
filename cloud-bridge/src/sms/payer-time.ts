/**
 * Dates and times as a payer reads them in an SMS: in the payer's time zone, with the hour and the zone's name,
 * never a bare UTC date (a deadline of "2026-12-18" in UTC is a day early or late for half the world).
 *
 * The zone is, in order: the tenant's time zone setting (tenants.time_zone), else the zone of the country of
 * the payer's phone number when that country keeps one offset (Germany, India, Japan…; parsed with
 * libphonenumber-js, zones from the runtime's ICU data), else UTC — said as "UTC" in the text, so a payer in a
 * multi-zone country (US, Brazil…) reads an unambiguous instant.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js'

/** Intl.Locale with the Intl Locale Info API (time zones of a region), old getter or new method. */
interface LocaleInfo {
  getTimeZones?: () => string[] | undefined
  timeZones?: string[]
}

function zonesOf(country: string): string[] {
  try {
    const l = new Intl.Locale(`und-${country}`) as Intl.Locale & LocaleInfo
    return l.getTimeZones?.() ?? l.timeZones ?? []
  } catch {
    return []
  }
}

/** Offset of `tz` at `at`, as Intl names it ("GMT+5:30"): zones that agree on it tell the same time. */
function offsetName(tz: string, at: number): string {
  return (
    new Intl.DateTimeFormat('en', { timeZone: tz, timeZoneName: 'longOffset' })
      .formatToParts(new Date(at))
      .find((p) => p.type === 'timeZoneName')?.value ?? tz
  )
}

/** The single time zone of the country of an E.164 phone number at `at`, or null (unknown, or several offsets). */
export function phoneTimeZone(phone: string | null | undefined, at: number): string | null {
  if (!phone) return null
  const country = parsePhoneNumberFromString(phone)?.country
  if (!country) return null
  const zones = zonesOf(country)
  if (zones.length === 0) return null
  const first = offsetName(zones[0]!, at)
  return zones.every((z) => offsetName(z, at) === first) ? zones[0]! : null
}

/** The zone a payer's message is written in: the tenant's setting, else the phone's country, else UTC. */
export function payerTimeZone(
  tenantZone: string | null | undefined,
  phone: string | null | undefined,
  at: number,
): string {
  if (tenantZone) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tenantZone })
      return tenantZone
    } catch {
      // An unusable setting must not stop the message: fall through to the phone's country.
    }
  }
  return phoneTimeZone(phone, at) ?? 'UTC'
}

/** "18 Dec 2026, 14:30 CET" — day, month name, year, 24-hour time and the zone, in `timeZone`. */
export function formatPayerTime(at: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone,
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  }).format(new Date(at))
}
