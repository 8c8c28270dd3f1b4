/**
 * Bytes over the box's link (a paid cellular line): per payment in the normal case (online, each payment
 * published as it is taken and acked), and over one hour of simulated time with the broker up but the bridge
 * not acking. Counted on a TCP forwarder between the box and the broker, both directions, MQTT framing
 * included. The hour runs the engine's ack timers on a simulated clock (no hour of waiting; keepalive pings,
 * ~2 bytes a minute, are not in it). Same-run baseline: the same engine with the re-send wait capped at the ack
 * timeout — a re-send every 15 s, as before the backoff (which also used a new batch id each time).
 * Run: npx tsx --conditions=@opg/source bench/sync-link.ts   (embedded aedes on a free port; no external services)
 */
import { once } from 'node:events'
import { createServer, type Socket, connect as tcpConnect } from 'node:net'
import os from 'node:os'
import type { SyncTimers } from '../src/sync/sync-engine.js'
import { aedesBroker, FakeBridge, freePort, waitFor } from '../test/sync/harness.js'
import { makeSyncRig, pay } from '../test/sync/setup.js'

const PENDING = Number(process.env.BENCH_LINK_PENDING ?? 100)
const NORMAL = Number(process.env.BENCH_LINK_PAYMENTS ?? 100)
const HOUR = 3_600_000

/** A TCP forwarder that counts the bytes each way. */
async function meteredLink(target: number) {
  const counts = { up: 0, down: 0 }
  const sockets = new Set<Socket>()
  const server = createServer((inbound) => {
    const outbound = tcpConnect(target, '127.0.0.1')
    for (const s of [inbound, outbound]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => {})
    }
    inbound.on('data', (d: Buffer) => {
      counts.up += d.length
    })
    outbound.on('data', (d: Buffer) => {
      counts.down += d.length
    })
    inbound.pipe(outbound).pipe(inbound)
    inbound.on('close', () => outbound.destroy())
    outbound.on('close', () => inbound.destroy())
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as { port: number }).port
  return {
    url: `mqtt://127.0.0.1:${port}`,
    counts,
    total: () => counts.up + counts.down,
    async close() {
      for (const s of sockets) s.destroy()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}

/** Timers on a simulated clock: `runUntil` fires them in order, letting real I/O settle after each. */
class SimTimers implements SyncTimers {
  now = 0
  #seq = 0
  readonly #due = new Map<number, { at: number; fn: () => void }>()
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#seq
    this.#due.set(id, { at: this.now + ms, fn })
    return { id }
  }
  clearTimeout(h: unknown): void {
    if (h && typeof h === 'object' && 'id' in h) this.#due.delete((h as { id: number }).id)
  }
  async runUntil(end: number): Promise<void> {
    for (;;) {
      const next = [...this.#due.entries()].sort((a, b) => a[1].at - b[1].at)[0]
      if (!next || next[1].at > end) break
      this.#due.delete(next[0])
      this.now = next[1].at
      next[1].fn()
      await new Promise((r) => setTimeout(r, 5))
    }
    this.now = end
  }
}

const broker = aedesBroker(await freePort())
await broker.up()

async function normalCase(): Promise<number> {
  const link = await meteredLink(broker.port)
  const rig = makeSyncRig(link.url, { ackTimeoutMs: 15_000 })
  const bridge = new FakeBridge(broker.bridgeUrl)
  bridge.addDevice(rig.world.deviceId, rig.world.deviceSecret)
  await bridge.start()
  rig.engine.start()
  await waitFor(() => rig.engine.online, 10_000, 'online')
  await rig.engine.syncNow(10_000)
  const before = link.total()
  for (let i = 0; i < NORMAL; i++) {
    await pay(rig, 1)
    await rig.engine.syncNow(10_000)
  }
  const bytes = link.total() - before
  await rig.engine.stop()
  await bridge.stop()
  await link.close()
  return bytes / NORMAL
}

async function bridgeDownHour(resendMaxMs: number): Promise<{ perPayment: number; sends: number }> {
  const link = await meteredLink(broker.port)
  const timers = new SimTimers()
  const rig = makeSyncRig(link.url, { ackTimeoutMs: 15_000, resendMaxMs, random: () => 0.5, timers })
  const bridge = new FakeBridge(broker.bridgeUrl)
  bridge.addDevice(rig.world.deviceId, rig.world.deviceSecret)
  bridge.acking = false
  await bridge.start()
  await pay(rig, PENDING)
  let sends = 0
  rig.engine.on('published', () => sends++)
  rig.engine.start()
  await waitFor(() => sends > 0, 10_000, 'the first send')
  await timers.runUntil(HOUR)
  await new Promise((r) => setTimeout(r, 50))
  // Everything from the connect on: the hour's cost includes the first send.
  const bytes = link.total()
  await rig.engine.stop()
  await bridge.stop()
  await link.close()
  return { perPayment: bytes / PENDING, sends }
}

const normal = await normalCase()
const backoff = await bridgeDownHour(600_000)
const baseline = await bridgeDownHour(15_000)
await broker.down()

const cpus = os.cpus()
const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`
console.log('sync link: bytes over the box↔broker TCP link (both directions, MQTT framing included)')
console.log(
  `machine: ${cpus[0]?.model ?? '?'} ×${cpus.length}, Node ${process.version}, load ${os.loadavg()[0]!.toFixed(2)}`,
)
console.log(`  normal case, ${NORMAL} payments each published and acked: ${normal.toFixed(0)} B per payment`)
console.log(
  `  bridge down 1 h (simulated), ${PENDING} pending: backoff ${backoff.sends} sends, ${kb(backoff.perPayment)} per payment`,
)
console.log(
  `  baseline, same run, re-send every 15 s: ${baseline.sends} sends, ${kb(baseline.perPayment)} per payment`,
)
console.log(`  ratio: ${(baseline.perPayment / backoff.perPayment).toFixed(1)}× fewer bytes with the backoff`)
