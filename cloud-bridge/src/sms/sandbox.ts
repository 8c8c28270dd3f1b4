/**
 * The sandbox SMS provider: "sends" by storing the message in sms_sandbox_messages, where the demo and the
 * API list it. Sending the same idempotency key twice stores one message. `simulateOutage(n)` makes the next
 * n sends fail as a provider outage would, so demos and tests can show the outbox retrying.
 */

import { newUuid } from '../db/ids.js'
import type { SqlQuery } from '../db/types.js'
import { checkMessage, SmsError, type SmsMessage, type SmsProvider, type SmsReceipt } from './provider.js'

/** One message the sandbox received. */
export interface SandboxSms {
  id: string
  to: string
  from: string
  body: string
  /** Always 'delivered': the sandbox accepts every well-formed message. */
  status: 'delivered'
  idempotencyKey: string
  createdAt: Date
}

interface Row {
  id: string
  to_number: string
  from_number: string
  body: string
  idempotency_key: string
  created_at: Date
}

/** The sandbox provider, on the bridge's own database. */
export class SandboxSmsProvider implements SmsProvider {
  readonly name = 'sandbox'
  readonly #db: SqlQuery
  readonly #from: string
  #outage = 0

  constructor(opts: { db: SqlQuery; from?: string }) {
    this.#db = opts.db
    this.#from = opts.from ?? '+15550000000'
  }

  /** Make the next `count` sends fail with a retryable provider_unavailable error. */
  simulateOutage(count: number): void {
    this.#outage = count
  }

  async send(msg: SmsMessage): Promise<SmsReceipt> {
    checkMessage(msg)
    if (this.#outage > 0) {
      this.#outage--
      throw new SmsError('provider_unavailable', 'sandbox: simulated outage', { status: 503 })
    }
    const r = await this.#db.query<{ id: string }>(
      `INSERT INTO sms_sandbox_messages (id, tenant_id, idempotency_key, to_number, from_number, body)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (tenant_id, idempotency_key) DO UPDATE SET idempotency_key = EXCLUDED.idempotency_key
       RETURNING id`,
      [newUuid(), msg.tenantId, msg.idempotencyKey, msg.to, this.#from, msg.text],
    )
    return { providerId: r.rows[0]!.id }
  }

  /** The tenant's messages, newest first. */
  async list(tenantId: string, opts: { limit?: number; to?: string } = {}): Promise<SandboxSms[]> {
    const r = await this.#db.query<Row>(
      `SELECT id, to_number, from_number, body, idempotency_key, created_at FROM sms_sandbox_messages
        WHERE tenant_id = $1 AND ($2::text IS NULL OR to_number = $2)
        ORDER BY created_at DESC, id LIMIT $3`,
      [tenantId, opts.to ?? null, Math.min(Math.max(opts.limit ?? 50, 1), 500)],
    )
    return r.rows.map((row) => ({
      id: row.id,
      to: row.to_number,
      from: row.from_number,
      body: row.body,
      status: 'delivered' as const,
      idempotencyKey: row.idempotency_key,
      createdAt: row.created_at,
    }))
  }

  /** The same as `list`, under the name the HTTP API's SmsPort uses. */
  listSandbox(tenantId: string, opts: { limit: number }): Promise<SandboxSms[]> {
    return this.list(tenantId, opts)
  }
}
