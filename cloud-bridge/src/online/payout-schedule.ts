/**
 * The tenant's payout schedule and the scheduler that follows it. Every bridge replica may run the scheduler:
 * each scheduled period has one batch key per currency ('daily:2026-12-04', 'weekly:2026-W49'), and
 * buildPayout takes an advisory lock per (tenant, currency) and returns the batch already built under a key,
 * so however many replicas tick, each period pays each merchant once. Periods and the run hour follow the
 * tenant's time zone and the database's clock (replica clocks may drift).
 */
import type { Db, Queryable } from '../db/types.js'
import { OnlineError } from './errors.js'
import { buildPayout } from './payout-build.js'
import type { Payout } from './payouts.js'

export type PayoutFrequency = 'daily' | 'weekly' | 'manual'

/** A tenant's schedule: 'daily' (the default) or 'weekly' batches after `runHour` local time, or 'manual'. */
export interface PayoutSchedule {
  frequency: PayoutFrequency
  /** Hour of the day (0–23, in `timeZone`) from which the period's batch is built. */
  runHour: number
  /** The tenant's IANA time zone; null = UTC. */
  timeZone: string | null
}

export const DEFAULT_SCHEDULE: PayoutSchedule = { frequency: 'daily', runHour: 0, timeZone: null }

/** True when `tz` is an IANA time zone this runtime knows. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz })
    return true
  } catch {
    return false
  }
}

/** The tenant's schedule (the default when none was set). */
export async function getSchedule(q: Queryable, tenantId: string): Promise<PayoutSchedule> {
  const { rows } = await q.query<{
    frequency: PayoutFrequency | null
    run_hour: number | null
    time_zone: string | null
  }>(
    `SELECT s.frequency, s.run_hour, t.time_zone FROM tenants t
       LEFT JOIN payout_schedules s ON s.tenant_id = t.id WHERE t.id = $1`,
    [tenantId],
  )
  const r = rows[0]
  return {
    frequency: r?.frequency ?? DEFAULT_SCHEDULE.frequency,
    runHour: r?.run_hour ?? DEFAULT_SCHEDULE.runHour,
    timeZone: r?.time_zone ?? null,
  }
}

/** Set the tenant's schedule and time zone; an unknown time zone is `bad_schedule`. */
export async function setSchedule(db: Db, tenantId: string, s: PayoutSchedule): Promise<PayoutSchedule> {
  if (s.timeZone !== null && !isTimeZone(s.timeZone)) {
    throw new OnlineError(
      'bad_schedule',
      `unknown time zone '${s.timeZone}' (use an IANA name such as Europe/Berlin)`,
    )
  }
  if (!Number.isInteger(s.runHour) || s.runHour < 0 || s.runHour > 23) {
    throw new OnlineError('bad_schedule', 'runHour must be an hour 0–23')
  }
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO payout_schedules (tenant_id, frequency, run_hour) VALUES ($1, $2, $3)
       ON CONFLICT (tenant_id) DO UPDATE SET frequency = $2, run_hour = $3, updated_at = now()`,
      [tenantId, s.frequency, s.runHour],
    )
    await tx.query('UPDATE tenants SET time_zone = $2 WHERE id = $1', [tenantId, s.timeZone])
  })
  return getSchedule(db, tenantId)
}

/** Local calendar date (y, m, d) of an instant in `tz`. */
function localDate(ms: number, tz: string): { y: number; m: number; d: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
  }).formatToParts(new Date(ms))
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value)
  return { y: get('year'), m: get('month'), d: get('day') }
}

/** ISO 8601 week of a calendar date: "2026-W49". */
function isoWeek(y: number, m: number, d: number): string {
  const date = new Date(Date.UTC(y, m - 1, d))
  const dow = date.getUTCDay() || 7
  date.setUTCDate(date.getUTCDate() + 4 - dow) // the Thursday of this week decides its year
  const year = date.getUTCFullYear()
  const week = Math.ceil(((date.getTime() - Date.UTC(year, 0, 1)) / 86_400_000 + 1) / 7)
  return `${year}-W${String(week).padStart(2, '0')}`
}

/**
 * The batch key of the period `nowMs` falls in, or null for a manual schedule. A day's period starts at
 * `runHour` local time (before it, the key is still the previous day's, which is already built — idempotent);
 * a week's at `runHour` on Monday.
 */
export function periodKey(s: PayoutSchedule, nowMs: number): string | null {
  if (s.frequency === 'manual') return null
  const { y, m, d } = localDate(nowMs - s.runHour * 3_600_000, s.timeZone ?? 'UTC')
  const pad = (n: number) => String(n).padStart(2, '0')
  return s.frequency === 'daily' ? `daily:${y}-${pad(m)}-${pad(d)}` : `weekly:${isoWeek(y, m, d)}`
}

/** Options of the scheduler. */
export interface PayoutSchedulerOptions {
  db: Db
  /** The bridge's mode: which money its batches may take (buildPayout's one test/live filter). */
  testMode: boolean
  /** How often to look (default 5 min); a period's batch is built at the first tick after it starts. */
  intervalMs?: number
  /** An injected clock (tests); default: the database's clock. */
  clock?: () => number
  onError?: (err: unknown) => void
}

/** Builds each tenant's scheduled batches; safe to run on every replica. */
export class PayoutScheduler {
  #timer: NodeJS.Timeout | undefined
  #running: Promise<unknown> | undefined

  constructor(private readonly opts: PayoutSchedulerOptions) {}

  start(): void {
    if (this.#timer) return
    this.#timer = setInterval(() => {
      if (this.#running) return
      this.#running = this.runOnce()
        .catch((err) => this.opts.onError?.(err))
        .finally(() => {
          this.#running = undefined
        })
    }, this.opts.intervalMs ?? 300_000)
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
    await this.#running
  }

  /** One pass over every active tenant with a schedule: the batches this period still needs. */
  async runOnce(): Promise<Payout[]> {
    const { db } = this.opts
    const now =
      this.opts.clock?.() ??
      new Date((await db.query<{ now: Date }>('SELECT now() AS now')).rows[0]!.now).getTime()
    const { rows } = await db.query<{ id: string }>(
      `SELECT t.id FROM tenants t LEFT JOIN payout_schedules s ON s.tenant_id = t.id
        WHERE t.status = 'active' AND coalesce(s.frequency, 'daily') <> 'manual' ORDER BY t.id`,
    )
    const built: Payout[] = []
    for (const { id: tenantId } of rows) {
      const key = periodKey(await getSchedule(db, tenantId), now)
      if (key === null) continue
      for (const currency of await payableCurrencies(db, tenantId)) {
        const p = await buildPayout(db, tenantId, currency, {
          key,
          testMode: this.opts.testMode,
          ...(this.opts.clock ? { now } : {}),
        })
        if (p) built.push(p)
      }
    }
    return built
  }
}

/** Currencies in which a tenant's merchants hold wallet or bank-payable money (candidates for a batch). */
async function payableCurrencies(q: Queryable, tenantId: string): Promise<string[]> {
  const { rows } = await q.query<{ currency: string }>(
    `SELECT DISTINCT currency FROM ledger_accounts
      WHERE tenant_id = $1 AND kind IN ('merchant_wallet', 'merchant_bank_payable') ORDER BY currency`,
    [tenantId],
  )
  return rows.map((r) => r.currency)
}
