/**
 * `npm run demo`: starts the whole system in this process in a fresh temporary folder (embedded defaults,
 * any free ports, a hold period of a few seconds instead of 72 h), plays the scenario and says, case by case,
 * what happened. Returns true only if every outcome was the expected one; the launcher turns that into the
 * exit code. System tests call `runDemo` with PostgreSQL and Mosquitto settings too.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger } from '@opg/cloud-bridge'
import { pino } from 'pino'
import { BleRig } from './ble-rig.js'
import { money, Narrator } from './narrator.js'
import { runScenario } from './scenario.js'
import { LocalStack } from './stack.js'

export interface DemoOptions {
  /** Bridge settings (cloud-bridge variable names), e.g. DATABASE_URL and MQTT_URL for real services. */
  env?: NodeJS.ProcessEnv
  /** Hold period in seconds (default 6). */
  holdSeconds?: number
  /** Print a line (default console.log). */
  out?: (line: string) => void
  /** Keep the temporary folder (QR images, logs) after the run. */
  keep?: boolean
  /** Pay one customer over BLE on a virtual radio (default true; falls back to QR when it cannot start). */
  ble?: boolean
}

export interface DemoResult {
  ok: boolean
  narrator: Narrator
  dataDir: string
}

export async function runDemo(o: DemoOptions = {}): Promise<DemoResult> {
  const out = o.out ?? ((l: string) => console.log(l))
  const n = new Narrator(out)
  const holdSeconds = o.holdSeconds ?? 6
  const dataDir = await mkdtemp(join(tmpdir(), 'opg-demo-'))
  const run = randomBytes(4).toString('hex')
  let ble: BleRig | undefined
  let bleMissing: string | undefined
  if (o.ble ?? true) {
    const rig = new BleRig()
    try {
      await rig.start()
      ble = rig
    } catch (err) {
      bleMissing = err instanceof Error ? err.message : String(err)
      await rig.stop().catch(() => {})
    }
  } else bleMissing = 'switched off'
  const stack = new LocalStack({
    ...(ble ? { boxBle: (deviceId: string) => ble.boxBinding(deviceId) } : {}),
    dataDir,
    // Logs go to files in the demo folder, which is kept when an outcome was not the expected one.
    bridgeLogger: createLogger('info', pino.destination({ dest: join(dataDir, 'bridge.log'), sync: true })),
    boxLogger: pino(
      { base: { part: 'box' } },
      pino.destination({ dest: join(dataDir, 'box.log'), sync: true }),
    ),
    merchantName: 'Corner Shop',
    env: {
      OPG_HTTP_PORT: '0',
      OPG_MQTT_EMBEDDED_PORT: '0',
      OPG_VERIFY_WORKERS: '0',
      OPG_HOLD_PERIOD: `${holdSeconds}s`,
      // The reconciliation sweep is ticked by the scenario once the hold has passed, so no payment is
      // approved behind its back on a slow machine; the periodic one is kept out of the way.
      OPG_SWEEP_INTERVAL: '1h',
      OPG_MQTT_CLIENT_ID: `opg-demo-${run}`,
      // A broker shared with other deployments (or test runs) must not hand this bridge's batches to theirs.
      OPG_MQTT_SHARE_GROUP: `opg-demo-${run}`,
      ...o.env,
    },
  })
  try {
    const info = await stack.start()
    out('opg demo — the whole system in one process')
    out(`   bridge ${info.httpUrl} · broker ${info.mqttUrl} · database ${describeDb(info.databaseUrl)}`)
    out(
      `   box ${info.box.deviceId} of "${info.box.merchantName}", simulated hardware; hold period ${holdSeconds} s`,
    )
    out(
      `   files (QR images, box data): ${dataDir}${o.keep ? '' : ' (removed at the end; --keep keeps them)'}`,
    )
    out(
      `   Bluetooth LE: ${ble ? 'virtual radio, bleno in the box, noble in the wallet' : `none (${bleMissing})`}`,
    )
    await runScenario({
      stack,
      n,
      holdSeconds,
      outDir: dataDir,
      ...(ble ? { ble } : {}),
      ...(bleMissing ? { bleMissing } : {}),
    })
    n.section('Books')
    const inv = await import('../../cloud-bridge/src/ledger/index.js')
    const violations = await inv.checkInvariants(stack.bridge.db, info.tenantId)
    n.expect('the double-entry ledger balances, no account below zero', violations.length, 0)
    const report = stack.box.node.report()
    n.say(
      `box: ${report.payments} payments, ${report.pendingCount} pending, ${report.confirmations.recent.length} paid-online notices`,
    )
    for (const [cur, amt] of Object.entries(report.pendingAmount)) n.say(`pending ${money(amt, cur)}`)
  } catch (err) {
    n.fail('the system started and the scenario ran', err)
  } finally {
    await withDeadline(stack.stop(), 30_000, 'stopping the system').catch((err) =>
      n.fail('the system stopped cleanly', err),
    )
    await ble?.stop().catch((err) => n.fail('the BLE radio stopped cleanly', err))
    if (!o.keep && n.ok) await rm(dataDir, { recursive: true, force: true })
  }
  out(`\n${n.summary()}`)
  if (!n.ok) out(`Logs and files kept in ${dataDir} (bridge.log, box.log).`)
  return { ok: n.ok, narrator: n, dataDir }
}

/** Reject when `p` has not settled within `ms` (a stop that hangs must not hang the demo's exit code). */
function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms)
  })
  return Promise.race([p, late]).finally(() => clearTimeout(timer))
}

function describeDb(url: string): string {
  if (url.startsWith('postgres')) return url.replace(/:[^:@/]*@/, ':***@')
  return url === 'memory:' ? 'PGlite in memory' : 'PGlite (embedded)'
}
