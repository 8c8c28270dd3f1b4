/**
 * Memory and start-up of the built box, as systemd runs it: `node <unit's V8 flags> bin/opg-node.js start --sim`
 * from dist/ (no loader), offline (its broker address answers nothing), measured in one run beside the floor,
 * a bare `node -e` process, and with an empty vault beside one holding 100,000 payments written by the real
 * vault writer. RSS is read from /proc/<pid>/status once the process has sat idle after `opg-node running`.
 *
 * Run from node-runtime/ after `npm run build`: `npx tsx --conditions=@opg/source bench/box-memory.ts`
 * (BOX_BENCH_PAYMENTS sets the count, BOX_BENCH_IDLE_MS the idle wait; default 100000 and 5000; BOX_BENCH_FLAGS
 * replaces the unit's Node flags, to try others; BOX_BENCH_COMPARE names another build's bin/opg-node.js, e.g. an
 * older commit's, measured in the same rounds on the same vaults).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { deriveKey, id8ToBytes } from '@opg/protocol'
import { controlRequest, controlSocketPath } from '../src/node/control.js'
import { FileVault, type PaymentRecord } from '../src/vault/index.js'
import { c, makeWorld } from '../test/accept/fixtures.js'
import { provisionBox } from '../test/sync/provision.js'

const PAYMENTS = Number(process.env.BOX_BENCH_PAYMENTS ?? 100_000)
const IDLE_MS = Number(process.env.BOX_BENCH_IDLE_MS ?? 5_000)
const BIN = fileURLToPath(new URL('../bin/opg-node.js', import.meta.url))
const COMPARE = process.env.BOX_BENCH_COMPARE
const BUILT = fileURLToPath(new URL('../dist/cli/index.js', import.meta.url))

const UNIT = fileURLToPath(new URL('../../device-config/opg-node.service', import.meta.url))

/** The Node flags of the systemd unit's ExecStart (between the node binary and the script), so both agree. */
async function unitFlags(): Promise<string[]> {
  const unit = await readFile(UNIT, 'utf8')
  const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1]?.trim().split(/\s+/)
  const script = exec?.findIndex((w) => w.endsWith('/opg-node.js')) ?? -1
  if (!exec || script < 1) throw new Error(`no ExecStart running opg-node.js in ${UNIT}`)
  return exec.slice(1, script)
}
let BOX_NODE_FLAGS: string[] = []

/** The unit's Environment= settings that shape memory (the malloc ones), so the bench runs as the box does. */
async function unitEnv(): Promise<Record<string, string>> {
  const unit = await readFile(UNIT, 'utf8')
  const env: Record<string, string> = {}
  for (const line of unit.matchAll(/^Environment=(.*)$/gm)) {
    for (const pair of line[1]!.trim().split(/\s+/)) {
      const [k, v] = pair.split('=', 2)
      if (k?.startsWith('MALLOC_') && v !== undefined) env[k] = v
    }
  }
  return env
}
let BOX_ENV: Record<string, string> = {}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]
  if (!kb) throw new Error(`no VmRSS for ${pid}`)
  return Number(kb) * 1024
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  await exited
}

/** A bare Node process: what any Node program costs before it loads anything, and how long it takes to start. */
async function floor(): Promise<{ rss: number; upMs: number }> {
  const t0 = performance.now()
  const child = spawn(
    process.execPath,
    [...BOX_NODE_FLAGS, '-e', "process.stdout.write('up\\n'); setInterval(() => {}, 1000)"],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { PATH: process.env.PATH, ...BOX_ENV },
    },
  )
  await new Promise((r) => child.stdout!.once('data', r))
  const upMs = performance.now() - t0
  await sleep(IDLE_MS)
  const rss = await rssOf(child.pid!)
  await stop(child)
  return { rss, upMs }
}

/** Start the built box on `configPath`; time to its control socket answering, then RSS after idling. */
async function box(
  configPath: string,
  dataDir: string,
  bin = BIN,
): Promise<{ readyMs: number; rss: number; records: number }> {
  const t0 = performance.now()
  const child = spawn(process.execPath, [...BOX_NODE_FLAGS, bin, 'start', '--sim', '--config', configPath], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...BOX_ENV },
  })
  let err = ''
  child.stderr!.on('data', (d) => {
    err += d
  })
  try {
    let status: { records?: number } | undefined
    for (;;) {
      if (child.exitCode !== null) throw new Error(`opg-node exited: ${err}`)
      try {
        const r = (await controlRequest(controlSocketPath(dataDir), { cmd: 'status' })) as {
          payments?: number
        }
        status = { records: r.payments ?? -1 }
        break
      } catch {
        await sleep(10)
      }
    }
    const readyMs = performance.now() - t0
    await sleep(IDLE_MS)
    return { readyMs, rss: await rssOf(child.pid!), records: status.records ?? -1 }
  } finally {
    await stop(child)
  }
}

function payment(i: number, deviceId: string, merchantId: string, now: number): PaymentRecord {
  return {
    kind: 'payment',
    txId: `0192f000-0000-7000-8000-${i.toString(16).padStart(12, '0')}`,
    walletId: (i % 5000).toString(16).padStart(16, '0'),
    purseId: `p${i % 5000}`,
    counter: i,
    amount: 100 + (i % 900),
    currency: 'EUR',
    merchantId,
    deviceId,
    // The last 30 days, one payment every ~26 s: what a busy box holds between compactions.
    acceptedAt: now - 30 * 86_400_000 + Math.floor((i * 30 * 86_400_000) / PAYMENTS),
    channel: i % 2 ? 'qr' : 'ble',
    token: new Uint8Array(300).fill(i & 0xff),
    receipt: new Uint8Array(120).fill(7),
  }
}

/** Fill the box's own vault (same key derivation as open-node.ts); all but the last 1% synced. */
async function fill(
  dataDir: string,
  deviceId: string,
  deviceSecret: Uint8Array,
  merchantId: string,
): Promise<void> {
  const key = deriveKey(c, deviceSecret, 'vault', id8ToBytes(deviceId))
  const v = await FileVault.open({ dir: join(dataDir, 'vault'), key })
  const now = Date.now()
  const synced = Math.floor(PAYMENTS * 0.99)
  for (let i = 0; i < PAYMENTS; i += 1000) {
    const batch: Promise<void>[] = []
    for (let j = i; j < Math.min(PAYMENTS, i + 1000); j++)
      batch.push(v.append(payment(j, deviceId, merchantId, now)))
    await Promise.all(batch)
    const ids: string[] = []
    for (let j = i; j < Math.min(synced, i + 1000); j++) ids.push(payment(j, deviceId, merchantId, now).txId)
    if (ids.length) await v.markSynced(ids)
  }
  await v.close()
}

async function main(): Promise<void> {
  if (!existsSync(BUILT))
    throw new Error('the box is not built: run `npm run build` at the repository root first')
  // BOX_BENCH_FLAGS tries other flags than the unit's (space-separated; empty for none).
  // BOX_BENCH_ENV tries other environment (malloc) settings than the unit's: `NAME=value` pairs, space-separated.
  const envTry = process.env.BOX_BENCH_ENV
  BOX_ENV =
    envTry !== undefined
      ? Object.fromEntries(
          envTry
            .split(/\s+/)
            .filter(Boolean)
            .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
        )
      : process.env.BOX_BENCH_FLAGS === undefined
        ? await unitEnv()
        : {}
  BOX_NODE_FLAGS =
    process.env.BOX_BENCH_FLAGS === undefined
      ? await unitFlags()
      : process.env.BOX_BENCH_FLAGS.split(/\s+/).filter(Boolean)
  const root = await mkdtemp(join(tmpdir(), 'opg-box-mem-'))
  try {
    const world = makeWorld(undefined, Date.now())
    const empty = await provisionBox(join(root, 'empty'), world)
    const full = await provisionBox(join(root, 'full'), world)
    const tf = performance.now()
    await fill(full.dataDir, world.deviceId, world.deviceSecret, String(full.raw.merchantId))
    const fillS = (performance.now() - tf) / 1000

    // Interleaved, so a change in machine load touches each figure alike.
    const runs = { floor: [] as number[], empty: [] as number[], full: [] as number[] }
    const ready = { floor: [] as number[], empty: [] as number[], full: [] as number[] }
    const other = {
      empty: [] as number[],
      full: [] as number[],
      emptyUp: [] as number[],
      fullUp: [] as number[],
    }
    let records = 0
    for (let round = 0; round < 2; round++) {
      const fl = await floor()
      runs.floor.push(fl.rss)
      ready.floor.push(fl.upMs)
      const e = await box(empty.configPath, empty.dataDir)
      runs.empty.push(e.rss)
      ready.empty.push(e.readyMs)
      const f = await box(full.configPath, full.dataDir)
      runs.full.push(f.rss)
      ready.full.push(f.readyMs)
      records = f.records
      if (COMPARE) {
        const oe = await box(empty.configPath, empty.dataDir, COMPARE)
        other.empty.push(oe.rss)
        other.emptyUp.push(oe.readyMs)
        const of = await box(full.configPath, full.dataDir, COMPARE)
        other.full.push(of.rss)
        other.fullUp.push(of.readyMs)
      }
    }
    const best = (xs: number[]) => Math.min(...xs)
    const [fl, em, fu] = [best(runs.floor), best(runs.empty), best(runs.full)]
    console.log(
      `box memory: ${cpus()[0]?.model ?? '?'} ×${cpus().length}, Node ${process.version}, load ${loadavg()[0]!.toFixed(1)}`,
    )
    console.log(
      `node flags: ${BOX_NODE_FLAGS.join(' ') || '(none)'}; env: ${
        Object.entries(BOX_ENV)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ') || '(none)'
      }; idle ${IDLE_MS} ms; best of 2`,
    )
    console.log(`vault of ${records} payments written by FileVault in ${fillS.toFixed(1)} s`)
    const up = best(ready.floor)
    console.log(`  floor (node -e)       RSS ${mb(fl).padStart(9)}   1.00×   up ${up.toFixed(0)} ms`)
    console.log(
      `  box, empty vault      RSS ${mb(em).padStart(9)}   ${(em / fl).toFixed(2)}×   ready ${best(ready.empty).toFixed(0)} ms (${(best(ready.empty) / up).toFixed(1)}× the floor's start)`,
    )
    console.log(
      `  box, ${PAYMENTS} payments RSS ${mb(fu).padStart(9)}   ${(fu / fl).toFixed(2)}×   ready ${best(ready.full).toFixed(0)} ms (${(best(ready.full) / up).toFixed(1)}×; goal ≤ 1500)`,
    )
    if (COMPARE) {
      const [oe, of] = [best(other.empty), best(other.full)]
      console.log(`  compared with ${COMPARE}:`)
      console.log(
        `  that build, empty     RSS ${mb(oe).padStart(9)}   ${(oe / fl).toFixed(2)}×   ready ${best(other.emptyUp).toFixed(0)} ms (${(best(other.emptyUp) / up).toFixed(1)}×)`,
      )
      console.log(
        `  that build, ${PAYMENTS}   RSS ${mb(of).padStart(9)}   ${(of / fl).toFixed(2)}×   ready ${best(other.fullUp).toFixed(0)} ms (${(best(other.fullUp) / up).toFixed(1)}×)`,
      )
    }
    console.log(
      `  the payments cost ${mb(fu - em)} (${((fu - em) / PAYMENTS).toFixed(0)} B each); goal ≤ 80 MB: ${fu <= 80 * 2 ** 20 ? 'met' : 'NOT met'}`,
    )
  } finally {
    if (process.env.BOX_BENCH_KEEP) console.log(`kept ${root}`)
    else await rm(root, { recursive: true, force: true })
  }
}

await main()
