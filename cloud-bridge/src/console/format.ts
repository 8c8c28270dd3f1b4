/** How the console writes times and amounts for people: money through the one money module, times in UTC. */
import { formatMoney } from '@opg/protocol'

export const money = (amountMinor: number, currency: string): string => formatMoney(amountMinor, currency)

/** Amounts in several currencies, e.g. "12.50 EUR + 300 JPY"; "—" when there are none. */
export function moneyByCurrency(by: Record<string, number>): string {
  const parts = Object.entries(by)
    .filter(([, v]) => v !== 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([cur, v]) => formatMoney(v, cur))
  return parts.length ? parts.join(' + ') : '—'
}

/** "2026-12-04 10:15 UTC" */
export const when = (d: Date | null): string =>
  d ? `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC` : '—'

/** "3 h 5 min ago", "in 2 d 4 h" */
export function relative(d: Date | null, now: Date): string {
  if (!d) return 'never'
  const ms = d.getTime() - now.getTime()
  const abs = Math.abs(ms)
  const m = Math.floor(abs / 60_000)
  const text =
    m < 1
      ? 'less than a minute'
      : m < 60
        ? `${m} min`
        : m < 1440
          ? `${Math.floor(m / 60)} h ${m % 60} min`
          : `${Math.floor(m / 1440)} d ${Math.floor((m % 1440) / 60)} h`
  return ms < 0 ? `${text} ago` : `in ${text}`
}

export const shortId = (id: string): string => (id.length > 12 ? `${id.slice(0, 8)}…` : id)
