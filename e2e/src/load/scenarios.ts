/**
 * The fleet load scenarios, each on fresh services (scratch database, private broker, bridge processes):
 *
 * - storm: every box holds `payments` offline payments; after the outage all boxes reconnect within
 *   `windowS` seconds and upload; measured until every batch is acked: drain time, ack latency p50/p99,
 *   bridge RSS and PostgreSQL connections over the run; checked: every payment acked, stored once, the ledger
 *   balanced; then (hold period short) every payment auto-approved exactly once. With `replicas: 2` the same
 *   storm is split between two bridge processes on the broker's `$share` subscription.
 * - steady: `boxes` connected boxes each sending a status every `statusEveryS` seconds (the field's 60 s,
 *   scaled) for `seconds`: bridge CPU per status message, and RSS at the start and the end.
 */
import { checkInvariants } from '../../../cloud-bridge/src/ledger/balances.js'
import { Api } from '../api.js'
import { enrolBoxes, pool, SimWallet } from './fleet.js'
import { LoadServices } from './services.js'
import { SimBox } from './sim-box.js'

export interface StormOptions {
  boxes: number
  payments: number
  windowS: number
  replicas: number
  /** Give up waiting for acks after this long (the run is bounded). */
  timeoutS: number
  /** How long to wait for the auto-approvals after the hold (default 120 s). */
  approvalWaitS?: number
  /** A box sends its batch again when no ack came within this long (the box's ack timeout). */
  resendAfterS?: number
  holdSeconds: number
  log?: (line: string) => void
}

export interface StormReport {
  boxes: number
  payments: number
  replicas: number
  setupS: number
  drainS: number
  /** Time from the last box's upload to the last ack. */
  drainAfterLastUploadS: number
  paymentsPerS: number
  ackP50Ms: number
  ackP99Ms: number
  batchesAcked: number
  batchesAckedTwice: number
  paymentsAccepted: number
  storedPayments: number
  storedAmount: string
  expectedAmount: string
  ledgerViolations: number
  /** Every payment approved, none twice (false also when the approval wait ran out: see approvals). */
  approvedOnce: boolean
  /** Auto-approval ledger movements when the wait ended, and whether the merchants were credited more than was paid. */
  approvals: number
  approvedTwice: boolean
  approvalsPerS: number
  bridgeCpuMsPerPayment: number
  /** CPU each replica spent during the storm (ms): how the shared subscription split the work. */
  bridgeCpuMs: number[]
  /** Batches boxes had to send again after their ack timeout. */
  resends: number
  brokerCpuMs: number
  bridgeRssMaxMb: number[]
  pgConnectionsMax: number
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export async function storm(o: StormOptions): Promise<StormReport> {
  const log = o.log ?? (() => {})
  const svc = new LoadServices()
  const boxes: SimBox[] = []
  try {
    const t0 = performance.now()
    await svc.start({ replicas: o.replicas, holdSeconds: o.holdSeconds })
    const api = new Api(svc.bridges[0]!.httpUrl, svc.operatorKey)
    log(`enrolling ${o.boxes} boxes through the API`)
    const enrolled = await enrolBoxes(api, svc.tenantId, o.boxes)
    log(`registering ${o.boxes} customer wallets with a purse each`)
    const amounts = (i: number, j: number) => 100 + ((i * 31 + j * 7) % 400)
    const wallets = await pool(enrolled, 16, () => SimWallet.create(api, 500 * o.payments, 500))
    let expected = 0n
    const batches = enrolled.map((dev, i) =>
      Array.from({ length: o.payments }, (_, j) => {
        expected += BigInt(amounts(i, j))
        return wallets[i]!.pay(dev.merchantId, dev.deviceId, amounts(i, j))
      }),
    )
    for (const dev of enrolled) boxes.push(new SimBox(dev, svc.mqttUrl))
    const setupS = (performance.now() - t0) / 1000

    // The outage ends: every box reconnects at a random instant of the window and uploads what it holds.
    log(`storm: ${o.boxes} boxes × ${o.payments} payments reconnecting within ${o.windowS} s`)
    const cpu0 = svc.bridges.map((b) => b.stats().cpuMs)
    const brokerCpu0 = svc.broker.stats().cpuMs
    const rssMax = svc.bridges.map(() => 0)
    let pgMax = 0
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        svc.bridges.forEach((b, k) => {
          rssMax[k] = Math.max(rssMax[k]!, b.stats().rssBytes)
        })
        pgMax = Math.max(pgMax, await svc.pgConnections().catch(() => 0))
        await sleep(500)
      }
    })()
    const start = performance.now()
    const ids: string[] = new Array(boxes.length)
    await Promise.all(
      boxes.map(async (b, i) => {
        await sleep(Math.random() * o.windowS * 1000)
        await b.connect()
        ids[i] = await b.sendBatch(batches[i]!)
      }),
    )
    const lastUpload = performance.now()
    const deadline = start + o.timeoutS * 1000
    const resendMs = (o.resendAfterS ?? 60) * 1000
    let nextResend = performance.now() + resendMs
    while (boxes.some((b, i) => !b.acked(ids[i]!)) && performance.now() < deadline) {
      await sleep(100)
      if (performance.now() < nextResend) continue
      nextResend = performance.now() + resendMs
      await Promise.all(
        boxes.map((b, i) => (b.acked(ids[i]!) ? undefined : b.sendBatch(batches[i]!, ids[i]!))),
      )
    }
    const drainS = (performance.now() - start) / 1000
    const drainAfterLastUploadS = (performance.now() - lastUpload) / 1000
    const cpuEach = svc.bridges.map((b, k) => b.stats().cpuMs - cpu0[k]!)
    const cpuMs = cpuEach.reduce((s, x) => s + x, 0)
    const brokerCpuMs = svc.broker.stats().cpuMs - brokerCpu0
    sampling = false
    await sampler

    const latencies = boxes.flatMap((b, i) => {
      const a = b.acks.find((x) => x.batch === ids[i])
      return a ? [a.latencyMs] : []
    })
    const accepted = new Set<string>()
    for (const [i, b] of boxes.entries()) {
      for (const a of b.acks) if (a.batch === ids[i]) for (const x of a.accepted) accepted.add(x)
    }
    const stored = await svc.db.query<{ n: number; amount: string }>(
      'SELECT count(*)::int AS n, coalesce(sum(amount), 0)::text AS amount FROM offline_payments WHERE tenant_id = $1',
      [svc.tenantId],
    )

    // Auto-approval after the (short) hold: every payment exactly once, whichever replica's sweep ran it.
    const approvalStart = performance.now()
    const approvalDeadline = approvalStart + (o.holdSeconds + (o.approvalWaitS ?? 120)) * 1000
    let held = Number.POSITIVE_INFINITY
    while (held > 0 && performance.now() < approvalDeadline) {
      await sleep(1000)
      held = (
        await svc.db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM offline_payments WHERE tenant_id = $1 AND state = 'held'",
          [svc.tenantId],
        )
      ).rows[0]!.n
    }
    // Each approval is a ledger movement under its payment's ref (recorded once per ref); what reached the
    // merchants' wallets is checked independently, from their balances.
    const approvals = (
      await svc.db.query<{ n: number; approved: string; credited: string }>(
        `SELECT count(*)::int AS n, coalesce(sum(amount), 0)::text AS approved,
                (SELECT coalesce(sum(balance), 0)::text FROM ledger_balances
                  WHERE tenant_id = $1 AND kind = 'merchant_wallet') AS credited
           FROM ledger_movements WHERE tenant_id = $1 AND ref LIKE 'offline:%:approve'`,
        [svc.tenantId],
      )
    ).rows[0]!
    const violations = await checkInvariants(svc.db, svc.tenantId)
    const total = o.boxes * o.payments
    return {
      boxes: o.boxes,
      payments: total,
      replicas: o.replicas,
      setupS: Math.round(setupS),
      drainS: Number(drainS.toFixed(1)),
      drainAfterLastUploadS: Number(drainAfterLastUploadS.toFixed(1)),
      paymentsPerS: Math.round(accepted.size / drainS),
      ackP50Ms: Math.round(pct(latencies, 50)),
      ackP99Ms: Math.round(pct(latencies, 99)),
      batchesAcked: latencies.length,
      batchesAckedTwice: boxes.filter((b, i) => b.acks.filter((a) => a.batch === ids[i]).length > 1).length,
      paymentsAccepted: accepted.size,
      storedPayments: stored.rows[0]!.n,
      storedAmount: stored.rows[0]!.amount,
      expectedAmount: expected.toString(),
      ledgerViolations: violations.length,
      approvedOnce:
        approvals.n === total &&
        approvals.approved === expected.toString() &&
        approvals.credited === approvals.approved,
      approvals: approvals.n,
      approvedTwice: BigInt(approvals.credited) > expected,
      approvalsPerS: Math.round(approvals.n / ((performance.now() - approvalStart) / 1000 - o.holdSeconds)),
      bridgeCpuMsPerPayment: Number((cpuMs / Math.max(1, accepted.size)).toFixed(3)),
      bridgeCpuMs: cpuEach,
      resends: boxes.reduce((s, b) => s + b.resends, 0),
      brokerCpuMs,
      bridgeRssMaxMb: rssMax.map((x) => Math.round(x / 2 ** 20)),
      pgConnectionsMax: pgMax,
    }
  } finally {
    await Promise.all(boxes.map((b) => b.close().catch(() => {})))
    await svc.stop()
  }
}

export interface SteadyOptions {
  boxes: number
  statusEveryS: number
  seconds: number
  log?: (line: string) => void
}

export interface SteadyReport {
  boxes: number
  statusEveryS: number
  seconds: number
  statuses: number
  bridgeCpuUsPerStatus: number
  rssStartMb: number
  rssEndMb: number
  rssSamplesMb: number[]
}

export async function steady(o: SteadyOptions): Promise<SteadyReport> {
  const log = o.log ?? (() => {})
  const svc = new LoadServices()
  const boxes: SimBox[] = []
  try {
    await svc.start({ replicas: 1, holdSeconds: 3600 })
    const api = new Api(svc.bridges[0]!.httpUrl, svc.operatorKey)
    log(`enrolling ${o.boxes} boxes through the API`)
    const enrolled = await enrolBoxes(api, svc.tenantId, o.boxes)
    for (const dev of enrolled) boxes.push(new SimBox(dev, svc.mqttUrl))
    await pool(boxes, 50, (b) => b.connect())
    log(`steady: ${o.boxes} boxes, a status every ${o.statusEveryS} s each, for ${o.seconds} s`)
    const bridge = svc.bridges[0]!
    // One round first, so the bridge's per-box state exists before the memory baseline is taken.
    await pool(boxes, 100, (b) => b.sendStatus(0))
    await sleep(2000)
    const s0 = bridge.stats()
    const samples: number[] = [Math.round(s0.rssBytes / 2 ** 20)]
    let statuses = 0
    const end = performance.now() + o.seconds * 1000
    const sampler = (async () => {
      const every = Math.max(2, o.seconds / 10) * 1000
      while (performance.now() + every < end) {
        await sleep(every)
        samples.push(Math.round(bridge.stats().rssBytes / 2 ** 20))
      }
    })()
    // Each box on its own phase of the period, as a real fleet's timers drift apart.
    await Promise.all(
      boxes.map(async (b, i) => {
        await sleep((i / boxes.length) * o.statusEveryS * 1000)
        while (performance.now() < end) {
          await b.sendStatus(i % 3)
          statuses++
          await sleep(o.statusEveryS * 1000)
        }
      }),
    )
    await sampler
    await sleep(2000)
    const s1 = bridge.stats()
    samples.push(Math.round(s1.rssBytes / 2 ** 20))
    return {
      boxes: o.boxes,
      statusEveryS: o.statusEveryS,
      seconds: o.seconds,
      statuses,
      bridgeCpuUsPerStatus: Math.round(((s1.cpuMs - s0.cpuMs) * 1000) / Math.max(1, statuses)),
      rssStartMb: Math.round(s0.rssBytes / 2 ** 20),
      rssEndMb: Math.round(s1.rssBytes / 2 ** 20),
      rssSamplesMb: samples,
    }
  } finally {
    await Promise.all(boxes.map((b) => b.close().catch(() => {})))
    await svc.stop()
  }
}
