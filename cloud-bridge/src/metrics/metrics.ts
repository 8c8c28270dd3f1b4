/**
 * Prometheus metrics of a bridge (prom-client, one registry per bridge — no global). Fleet and money gauges
 * are read from the shared tables at scrape time, so every replica reports the same fleet-wide truth and a
 * restart loses nothing; request counters and latencies are this replica's own. The alert rules shipped in
 * cloud-bridge/alerts/ are written over these names.
 *
 * /metrics answers a bearer token when one is configured, and otherwise only loopback clients (a local
 * Prometheus or node_exporter sidecar); it never shows amounts of one tenant to another's credentials
 * because it takes no tenant credentials at all — it is an operator-of-the-deployment endpoint.
 */
import { timingSafeEqual } from 'node:crypto'
import { getConnInfo } from '@hono/node-server/conninfo'
import type { Context, MiddlewareHandler } from 'hono'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { Queryable } from '../api/ports.js'
import { pendingAmountOf, STORAGE_ALERT_KINDS, storageAlertKinds, storageOf } from '../console/box-queries.js'
import type { ProcessResult } from '../ingest/processor.js'

export interface MetricsOptions {
  /** Bearer token Prometheus must send; null → loopback clients only. */
  token: string | null
  /** A box unseen this long while holding payments counts as silent. */
  silentBoxMs: number
  now: () => Date
}

const num = (v: unknown) => Number(v ?? 0)

export class BridgeMetrics {
  readonly registry = new Registry()
  readonly #q: Queryable
  readonly #o: MetricsOptions
  readonly #requests: Counter<'method' | 'status'>
  readonly #latency: Histogram<'method'>
  readonly #ingest: Histogram<'kind'>
  readonly #ingestTokens: Counter<'outcome'>
  readonly #mqtt: Gauge<'client'>
  readonly #refill: () => Promise<void>

  constructor(q: Queryable, o: MetricsOptions) {
    this.#q = q
    this.#o = o
    const r = this.registry
    collectDefaultMetrics({ register: r, prefix: 'opg_bridge_' })
    this.#requests = new Counter({
      name: 'opg_http_requests_total',
      help: 'HTTP requests served by this replica',
      labelNames: ['method', 'status'],
      registers: [r],
    })
    this.#latency = new Histogram({
      name: 'opg_http_request_duration_seconds',
      help: 'HTTP request latency on this replica',
      labelNames: ['method'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [r],
    })
    this.#ingest = new Histogram({
      name: 'opg_ingest_duration_seconds',
      help: 'Box messages on this replica, from arrival to done (a batch: its ack with the broker), by kind',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [r],
    })
    this.#ingestTokens = new Counter({
      name: 'opg_ingest_tokens_total',
      help: 'Tokens in batches acked by this replica, by outcome in the ack',
      labelNames: ['outcome'],
      registers: [r],
    })
    this.#mqtt = gauge(
      r,
      'opg_mqtt_connected',
      "Whether this replica's MQTT client is connected to the broker (1) or not (0), by client id",
      ['client'],
    )
    const scrapeRows = gauge(
      r,
      'opg_metrics_scrape_rows',
      'Rows read from the database for the last scrape',
      [],
    )
    const fleet = {
      boxes: gauge(r, 'opg_boxes', 'Boxes by link state', ['tenant', 'state']),
      unsyncedPayments: gauge(r, 'opg_unsynced_payments', 'Payments boxes report holding unsynced', [
        'tenant',
      ]),
      exposure: gauge(
        r,
        'opg_unsynced_exposure_minor',
        'Value accepted offline and not yet at the bridge (minor units), from box status',
        ['tenant', 'currency'],
      ),
      exposureLimit: gauge(r, 'opg_exposure_limit_minor', "The tenant's unsynced-exposure limit", [
        'tenant',
        'currency',
      ]),
      silent: gauge(
        r,
        'opg_boxes_silent_with_payments',
        'Boxes unseen longer than the silent period while holding payments',
        ['tenant'],
      ),
      storage: gauge(
        r,
        'opg_boxes_storage_alert',
        'Boxes whose last status reports a storage problem, by kind',
        ['tenant', 'kind'],
      ),
    }
    const money = {
      payments: gauge(r, 'opg_offline_payments', 'Offline payments by state', ['tenant', 'state']),
      holdsValue: gauge(r, 'opg_holds_pending_value_minor', 'Value of held payments', ['tenant', 'currency']),
      approvals: gauge(r, 'opg_auto_approvals_24h', 'Payments auto-approved in the last 24 h', ['tenant']),
      claims: gauge(r, 'opg_claims', 'Claims by state', ['tenant', 'state']),
      proofs: gauge(r, 'opg_double_spend_proofs', 'Double-spend proofs kept', ['tenant']),
      refused: gauge(r, 'opg_refused_tokens', 'Tokens refused at ingest, by reason', ['tenant', 'code']),
      sms: gauge(r, 'opg_sms_outbox', 'SMS in the outbox by state', ['tenant', 'status']),
      batches: gauge(r, 'opg_ingest_batches_5m', 'Batches received in the last 5 minutes', ['tenant']),
      tokens: gauge(r, 'opg_ingest_tokens_5m', 'Tokens received in the last 5 minutes', ['tenant']),
    }
    const all = [...Object.values(fleet), ...Object.values(money)]
    // Refilled from the tables before each exposition (prom-client collects metrics concurrently, so a
    // collect() hook on one gauge cannot fill the others in time).
    this.#refill = async () => {
      for (const g of all) g.reset()
      scrapeRows.set(await collect(q, o, fleet, money))
    }
  }

  /** Middleware counting this replica's HTTP requests. */
  middleware(): MiddlewareHandler {
    return async (c, next) => {
      const end = this.#latency.startTimer({ method: c.req.method })
      await next()
      end()
      this.#requests.inc({ method: c.req.method, status: String(c.res.status) })
    }
  }

  /** The ingest consumer's observer: message latency by kind, and tokens by their outcome in the ack. */
  observeIngest(result: ProcessResult, seconds: number): void {
    this.#ingest.observe({ kind: result.kind }, seconds)
    if (result.kind !== 'batch') return
    this.#ingestTokens.inc({ outcome: 'accepted' }, result.ack.accepted.length)
    this.#ingestTokens.inc({ outcome: 'rejected' }, result.ack.rejected.length)
  }

  /** One of this replica's MQTT clients connected to the broker, or lost it. */
  mqttLink(clientId: string, connected: boolean): void {
    this.#mqtt.set({ client: clientId }, connected ? 1 : 0)
  }

  /** The /metrics handler: token or loopback, then the text exposition format. */
  async handle(c: Context): Promise<Response> {
    if (!allowed(c, this.#o.token)) return c.text('metrics need the bearer token or a loopback client\n', 401)
    await this.#refill()
    c.header('Content-Type', this.registry.contentType)
    return c.body(await this.registry.metrics())
  }

  get queryable(): Queryable {
    return this.#q
  }
}

function gauge(r: Registry, name: string, help: string, labelNames: string[]): Gauge<string> {
  return new Gauge({ name, help, labelNames, registers: [r] })
}

function allowed(c: Context, token: string | null): boolean {
  if (token !== null) {
    const m = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')
    if (!m) return false
    const a = Buffer.from(m[1]!)
    const b = Buffer.from(token)
    return a.length === b.length && timingSafeEqual(a, b)
  }
  try {
    const addr = getConnInfo(c).remote.address ?? ''
    return addr === '127.0.0.1' || addr === '::1' || addr.startsWith('::ffff:127.')
  } catch {
    return false // no socket (an in-process request): not provably loopback
  }
}

type G = Gauge<string>

async function collect(
  q: Queryable,
  o: MetricsOptions,
  fleet: Record<'boxes' | 'unsyncedPayments' | 'exposure' | 'exposureLimit' | 'silent' | 'storage', G>,
  money: Record<
    'payments' | 'holdsValue' | 'approvals' | 'claims' | 'proofs' | 'refused' | 'sms' | 'batches' | 'tokens',
    G
  >,
): Promise<number> {
  const now = o.now()
  let rows = 0
  const devices = await q.query<{
    tenant_id: string
    online: boolean
    revoked: boolean
    pending_count: number
    last_seen_at: Date | null
    status: unknown
  }>(
    `SELECT tenant_id, online, revoked_at IS NOT NULL AS revoked, pending_count, last_seen_at, status FROM devices`,
  )
  rows += devices.rows.length
  const silentBefore = now.getTime() - o.silentBoxMs
  const exposure = new Map<string, number>()
  const tenants = new Set<string>()
  for (const d of devices.rows) {
    tenants.add(d.tenant_id)
    fleet.boxes.inc({ tenant: d.tenant_id, state: d.revoked ? 'revoked' : d.online ? 'online' : 'offline' })
    if (d.revoked) continue
    fleet.unsyncedPayments.inc({ tenant: d.tenant_id }, num(d.pending_count))
    for (const [cur, v] of Object.entries(pendingAmountOf(d.status))) {
      const k = `${d.tenant_id}\u0000${cur}`
      exposure.set(k, (exposure.get(k) ?? 0) + v)
    }
    const lastSeen = d.last_seen_at ? new Date(d.last_seen_at).getTime() : 0
    fleet.silent.inc(
      { tenant: d.tenant_id },
      !d.online && num(d.pending_count) > 0 && lastSeen < silentBefore ? 1 : 0,
    )
    const kinds = storageAlertKinds(storageOf(d.status))
    for (const kind of STORAGE_ALERT_KINDS)
      fleet.storage.inc({ tenant: d.tenant_id, kind }, kinds.includes(kind) ? 1 : 0)
  }
  for (const [k, v] of exposure) {
    const [tenant, currency] = k.split('\u0000') as [string, string]
    fleet.exposure.set({ tenant, currency }, v)
  }
  const limits = await q.query<{ id: string; currency: string; exposure_limit: bigint | null }>(
    'SELECT id, currency, exposure_limit FROM tenants',
  )
  for (const t of limits.rows) {
    if (t.exposure_limit !== null)
      fleet.exposureLimit.set({ tenant: t.id, currency: t.currency }, num(t.exposure_limit))
    if (tenants.has(t.id)) fleet.exposure.inc({ tenant: t.id, currency: t.currency }, 0)
  }
  const grouped = async (sql: string, params: unknown[], apply: (r: Record<string, unknown>) => void) => {
    const res = await q.query<Record<string, unknown>>(sql, params)
    rows += res.rows.length
    for (const r of res.rows) apply(r)
  }
  const t = (r: Record<string, unknown>) => String(r.tenant_id)
  await grouped('SELECT tenant_id, state, count(*) AS n FROM offline_payments GROUP BY 1, 2', [], (r) =>
    money.payments.set({ tenant: t(r), state: String(r.state) }, num(r.n)),
  )
  await grouped(
    `SELECT tenant_id, currency, sum(amount) AS v FROM offline_payments WHERE state = 'held' GROUP BY 1, 2`,
    [],
    (r) => money.holdsValue.set({ tenant: t(r), currency: String(r.currency) }, num(r.v)),
  )
  await grouped(
    `SELECT tenant_id, count(*) AS n FROM offline_payments WHERE state = 'approved' AND settled_at >= $1 GROUP BY 1`,
    [new Date(now.getTime() - 86_400_000)],
    (r) => money.approvals.set({ tenant: t(r) }, num(r.n)),
  )
  await grouped('SELECT tenant_id, status, count(*) AS n FROM claims GROUP BY 1, 2', [], (r) =>
    money.claims.set({ tenant: t(r), state: String(r.status) }, num(r.n)),
  )
  await grouped('SELECT tenant_id, count(*) AS n FROM double_spend_proofs GROUP BY 1', [], (r) =>
    money.proofs.set({ tenant: t(r) }, num(r.n)),
  )
  await grouped(
    'SELECT tenant_id, reason AS code, count(*) AS n FROM refused_tokens GROUP BY 1, 2',
    [],
    (r) => money.refused.set({ tenant: t(r), code: String(r.code) }, num(r.n)),
  )
  await grouped('SELECT tenant_id, status, count(*) AS n FROM sms_outbox GROUP BY 1, 2', [], (r) =>
    money.sms.set({ tenant: t(r), status: String(r.status) }, num(r.n)),
  )
  await grouped(
    'SELECT tenant_id, count(*) AS n, sum(items) AS items FROM device_batches WHERE received_at >= $1 GROUP BY 1',
    [new Date(now.getTime() - 300_000)],
    (r) => {
      money.batches.set({ tenant: t(r) }, num(r.n))
      money.tokens.set({ tenant: t(r) }, num(r.items))
    },
  )
  return rows
}
