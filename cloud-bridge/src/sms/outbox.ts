/**
 * The SMS outbox. Business code enqueues a message inside its own transaction (so the SMS exists exactly
 * when the payment does); the worker delivers it afterwards with retries and exponential backoff, so a
 * provider outage delays messages but loses none.
 *
 * Claiming: a worker takes due rows with FOR UPDATE SKIP LOCKED (replicas never block on or double-claim a
 * row), bumps `attempts` and pushes `next_attempt_at` one lease ahead, and commits — no lock is held while
 * the provider is called. If the worker dies mid-send, the lease expires and another worker retries, with
 * the same idempotency key (delivery is at least once). The lease must exceed the provider's timeout.
 */
import { newUuid } from '../db/ids.js'
import type { Db, SqlQuery } from '../db/types.js'
import { checkMessage, isSmsError, type SmsMessage, type SmsProvider } from './provider.js'

/** Enqueue a message in the caller's transaction. The same (tenant, idempotency key) is queued once. */
export async function enqueueSms(
  tx: SqlQuery,
  msg: SmsMessage,
  opts: { notBefore?: Date } = {},
): Promise<{ id: string; enqueued: boolean }> {
  checkMessage(msg)
  const r = await tx.query<{ id: string }>(
    `INSERT INTO sms_outbox (id, tenant_id, idempotency_key, to_number, body, next_attempt_at)
     VALUES ($1, $2, $3, $4, $5, COALESCE($6::timestamptz, now()))
     ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING id`,
    [newUuid(), msg.tenantId, msg.idempotencyKey, msg.to, msg.text, opts.notBefore ?? null],
  )
  if (r.rows[0]) return { id: r.rows[0].id, enqueued: true }
  const existing = await tx.query<{ id: string }>(
    'SELECT id FROM sms_outbox WHERE tenant_id = $1 AND idempotency_key = $2',
    [msg.tenantId, msg.idempotencyKey],
  )
  return { id: existing.rows[0]!.id, enqueued: false }
}

/** One outbox row as operators and tests see it. */
export interface OutboxItem {
  id: string
  tenantId: string
  idempotencyKey: string
  to: string
  body: string
  status: 'pending' | 'sent' | 'failed'
  attempts: number
  nextAttemptAt: Date
  lastError: string | null
  providerId: string | null
  createdAt: Date
  sentAt: Date | null
}

interface OutboxRow {
  id: string
  tenant_id: string
  idempotency_key: string
  to_number: string
  body: string
  status: OutboxItem['status']
  attempts: number
  next_attempt_at: Date
  last_error: string | null
  provider_id: string | null
  created_at: Date
  sent_at: Date | null
}

const toItem = (r: OutboxRow): OutboxItem => ({
  id: r.id,
  tenantId: r.tenant_id,
  idempotencyKey: r.idempotency_key,
  to: r.to_number,
  body: r.body,
  status: r.status,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  lastError: r.last_error,
  providerId: r.provider_id,
  createdAt: r.created_at,
  sentAt: r.sent_at,
})

/** A tenant's outbox, newest first, optionally of one status. */
export async function listOutbox(
  q: SqlQuery,
  tenantId: string,
  opts: { status?: OutboxItem['status']; limit?: number } = {},
): Promise<OutboxItem[]> {
  const r = await q.query<OutboxRow>(
    `SELECT * FROM sms_outbox WHERE tenant_id = $1 AND ($2::text IS NULL OR status = $2)
      ORDER BY created_at DESC, id LIMIT $3`,
    [tenantId, opts.status ?? null, Math.min(Math.max(opts.limit ?? 50, 1), 500)],
  )
  return r.rows.map(toItem)
}

/** Settings of the outbox worker. */
export interface OutboxOptions {
  db: Db
  provider: SmsProvider
  /** Rows claimed per round (default 10). */
  batchSize?: number
  /** First retry delay (default 2 s); doubles per attempt up to maxDelayMs (default 10 min). */
  baseDelayMs?: number
  maxDelayMs?: number
  /** After this many attempts a message is marked failed (default 12, about an hour of retrying). */
  maxAttempts?: number
  /** How long a claimed row is reserved for its sender (default 60 s; must exceed the provider timeout). */
  leaseMs?: number
  /** Idle wait between rounds (default 1 s). */
  pollIntervalMs?: number
  /** The clock (default Date.now): tests pass a controlled one. */
  now?: () => number
  /** Source of jitter in [0, 1) (default Math.random). The delay is d/2 + jitter·d/2. */
  random?: () => number
  /** Told about every failed attempt and round error (default: ignore; the row keeps last_error). */
  onError?: (err: unknown, item?: OutboxItem) => void
}

/** What one round did. */
export interface RoundResult {
  sent: number
  retried: number
  failed: number
}

/** The worker that drains the outbox. Construct, then start(); stop() waits for the round in flight. */
export class SmsOutbox {
  readonly #o: Required<Omit<OutboxOptions, 'onError'>> & Pick<OutboxOptions, 'onError'>
  #timer: NodeJS.Timeout | undefined
  #round: Promise<unknown> | undefined
  #running = false

  constructor(opts: OutboxOptions) {
    this.#o = {
      batchSize: 10,
      baseDelayMs: 2_000,
      maxDelayMs: 600_000,
      maxAttempts: 12,
      leaseMs: 60_000,
      pollIntervalMs: 1_000,
      now: Date.now,
      random: Math.random,
      ...opts,
    }
  }

  /** Start polling. */
  start(): void {
    if (this.#running) return
    this.#running = true
    this.#schedule(0)
  }

  /** Stop polling and wait for the round in flight. */
  async stop(): Promise<void> {
    this.#running = false
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#round
  }

  /** Run a round now (if started), e.g. right after enqueueing something urgent. */
  wake(): void {
    if (this.#running && !this.#round) this.#schedule(0)
  }

  #schedule(ms: number): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      const round = this.runOnce()
        .then((r) => r.sent + r.retried + r.failed >= this.#o.batchSize)
        .catch((err: unknown) => {
          this.#o.onError?.(err)
          return false
        })
      this.#round = round
      void round.then((busy) => {
        this.#round = undefined
        if (this.#running) this.#schedule(busy ? 0 : this.#o.pollIntervalMs)
      })
    }, ms)
  }

  /** The retry delay after `attempts` failed attempts. */
  backoffMs(attempts: number): number {
    const d = Math.min(this.#o.maxDelayMs, this.#o.baseDelayMs * 2 ** Math.max(0, attempts - 1))
    return Math.round(d / 2 + (this.#o.random() * d) / 2)
  }

  /** Claim due messages and try each once. */
  async runOnce(): Promise<RoundResult> {
    const { db, provider } = this.#o
    const now = this.#o.now()
    const claimed = await db.transaction(async (tx) => {
      const due = await tx.query<OutboxRow>(
        `SELECT * FROM sms_outbox WHERE status = 'pending' AND next_attempt_at <= $1
          ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [new Date(now), this.#o.batchSize],
      )
      if (due.rows.length === 0) return []
      const r = await tx.query<OutboxRow>(
        `UPDATE sms_outbox SET attempts = attempts + 1, next_attempt_at = $2
          WHERE id = ANY($1::uuid[]) RETURNING *`,
        [due.rows.map((x) => x.id), new Date(now + this.#o.leaseMs)],
      )
      return r.rows.map(toItem).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
    })

    const result: RoundResult = { sent: 0, retried: 0, failed: 0 }
    for (const item of claimed) {
      try {
        const receipt = await provider.send({
          tenantId: item.tenantId,
          to: item.to,
          text: item.body,
          idempotencyKey: item.idempotencyKey,
        })
        // Only the holder of the latest claim records the outcome: a sender whose lease ran out (and whose
        // row another worker claimed again) changes nothing here.
        const done = await db.query(
          `UPDATE sms_outbox SET status = 'sent', provider_id = $3, sent_at = $4, last_error = NULL
            WHERE id = $1 AND attempts = $2 AND status = 'pending'`,
          [item.id, item.attempts, receipt.providerId, new Date(this.#o.now())],
        )
        if (done.rowCount > 0) result.sent++
      } catch (err) {
        this.#o.onError?.(err, item)
        // Errors that are not the provider's verdict (a bug, a broken connection) are retried too: losing
        // a payment confirmation is worse than sending it late.
        const retryable = isSmsError(err) ? err.retryable : true
        const message = (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, 500)
        if (retryable && item.attempts < this.#o.maxAttempts) {
          const wait = Math.max(this.backoffMs(item.attempts), isSmsError(err) ? (err.retryAfterMs ?? 0) : 0)
          await db.query(
            `UPDATE sms_outbox SET next_attempt_at = $3, last_error = $4
              WHERE id = $1 AND attempts = $2 AND status = 'pending'`,
            [item.id, item.attempts, new Date(this.#o.now() + wait), message],
          )
          result.retried++
        } else {
          await db.query(
            `UPDATE sms_outbox SET status = 'failed', last_error = $3
              WHERE id = $1 AND attempts = $2 AND status = 'pending'`,
            [item.id, item.attempts, message],
          )
          result.failed++
        }
      }
    }
    return result
  }
}
