/**
 * `npm run load -w e2e`: the fleet load test, bounded in time, loopback only. Scale by environment:
 *   LOAD_BOXES (2000) LOAD_PAYMENTS (50) LOAD_WINDOW_S (10) LOAD_TIMEOUT_S (600) LOAD_HOLD_S (30)
 *   LOAD_RESEND_S (60: a box's ack timeout before it sends its batch again)
 *   LOAD_STEADY_BOXES (5000) LOAD_STATUS_EVERY_S (6: the field's 60 s scaled by 10) LOAD_STEADY_S (60)
 *   LOAD_SCENARIOS (storm,replicas,steady)
 * Prints each scenario's report as it finishes (JSON), then exits 0 only if every correctness check held.
 */
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os'
import { type StormReport, steady, storm } from './scenarios.js'

const num = (k: string, d: number) => Number(process.env[k] ?? d)

export async function runLoadTest(out: (l: string) => void = console.log): Promise<boolean> {
  const boxes = num('LOAD_BOXES', 2000)
  const payments = num('LOAD_PAYMENTS', 50)
  const windowS = num('LOAD_WINDOW_S', 10)
  const timeoutS = num('LOAD_TIMEOUT_S', 600)
  const holdSeconds = num('LOAD_HOLD_S', 30)
  const resendAfterS = num('LOAD_RESEND_S', 60)
  const which = new Set((process.env.LOAD_SCENARIOS ?? 'storm,replicas,steady').split(','))
  out(
    `machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB, load average ${loadavg()[0]!.toFixed(1)}`,
  )
  const log = (l: string) => out(`  ${l}`)
  let ok = true
  const check = (name: string, r: StormReport) => {
    const good =
      r.batchesAcked === r.boxes &&
      r.paymentsAccepted === r.payments &&
      r.storedPayments === r.payments &&
      r.storedAmount === r.expectedAmount &&
      r.ledgerViolations === 0 &&
      !r.approvedTwice
    out(`${name}: ${JSON.stringify(r)}`)
    const approved = r.approvedOnce ? 'every payment approved once' : `${r.approvals} approved, none twice`
    out(
      `${name}: ${good ? `every payment acked and stored once, ${approved}; ledger balanced` : 'CHECK FAILED'}`,
    )
    ok &&= good
  }
  if (which.has('storm')) {
    check(
      'storm',
      await storm({ boxes, payments, windowS, replicas: 1, timeoutS, holdSeconds, resendAfterS, log }),
    )
  }
  if (which.has('replicas')) {
    check(
      'replicas',
      await storm({ boxes, payments, windowS, replicas: 2, timeoutS, holdSeconds, resendAfterS, log }),
    )
  }
  if (which.has('steady')) {
    const r = await steady({
      boxes: num('LOAD_STEADY_BOXES', 5000),
      statusEveryS: num('LOAD_STATUS_EVERY_S', 6),
      seconds: num('LOAD_STEADY_S', 60),
      log,
    })
    out(`steady: ${JSON.stringify(r)}`)
  }
  return ok
}
