/**
 * What one BLE payment costs on the air: ATT operations (writes, notifications, reads) and bytes each way at
 * ATT MTU 23, 185 and 256, counted by the virtual radio under the real bleno (box) and noble (wallet), and the
 * time that implies at a 30 ms connection interval.
 *
 * Phases of one payment on one connection:
 *   setup   — MTU exchange, service discovery, the two subscriptions, the Ident read (per connection);
 *   payment — from the session start (State 0x01) to the last receipt chunk: what the protocol costs;
 *   end     — State 0x02 and the box's end notification.
 * Two transports are measured: "separate start" (State 0x01 alone, then the WalletHello as Client2Server
 * chunks — the transport before) and "hello in start" (State 0x01 || WalletHello in one write when it fits
 * MTU − 3, the transport now).
 *
 * Timing model (conservative): one ATT PDU per connection event per direction, and no PDU of the payment
 * overlaps another (every message waits for the previous one), so payment time = payment PDUs × 30 ms.
 * Real links usually carry several notifications per event, so real payments are faster than this.
 * A round trip is a run of wallet → box PDUs followed by a run of box → wallet PDUs.
 * Run: npm run bench:ble -w node-runtime
 */
import type { LinkStats } from '@opg/testkit/virtual-hci/index.js'
import { type PaymentRig, startRig } from '../test/ble-payment/rig.js'

const INTERVAL_MS = 30
const ROUNDS = Number(process.env.BENCH_N ?? 3)

type Pdu = { dir: 'up' | 'down'; op: string; bytes: number }

/** Every ATT PDU on the rig's radio, in order, from the counters the radio updates on each one. */
function recordPdus(rig: PaymentRig): { pdus: Pdu[]; stop: () => void } {
  const pdus: Pdu[] = []
  // Start from the counters as they are: earlier rounds' links are not this payment's.
  const last = new Map<number, LinkStats>(rig.radio.links().map((l) => [l.id, l]))
  const onChange = () => {
    for (const l of rig.radio.links()) {
      const prev = last.get(l.id)
      for (const dir of ['up', 'down'] as const) {
        const was = prev?.[dir]
        if ((was?.attPdus ?? 0) === l[dir].attPdus) continue
        const op = Object.keys(l[dir].attOps).find((k) => (l[dir].attOps[k] ?? 0) !== (was?.attOps[k] ?? 0))
        pdus.push({ dir, op: op ?? '?', bytes: l[dir].attBytes - (was?.attBytes ?? 0) })
      }
      last.set(l.id, l)
    }
  }
  rig.radio.on('change', onChange)
  return { pdus, stop: () => rig.radio.off('change', onChange) }
}

interface Phase {
  writes: number
  notifies: number
  reads: number
  other: number
  upBytes: number
  downBytes: number
  pdus: number
  roundTrips: number
}

function phase(pdus: Pdu[]): Phase {
  const p: Phase = {
    writes: 0,
    notifies: 0,
    reads: 0,
    other: 0,
    upBytes: 0,
    downBytes: 0,
    pdus: pdus.length,
    roundTrips: 0,
  }
  let prev: 'up' | 'down' | undefined
  for (const x of pdus) {
    if (
      x.op === 'write_cmd' ||
      x.op === 'write_req' ||
      x.op === 'prepare_write_req' ||
      x.op === 'execute_write_req'
    )
      p.writes++
    else if (x.op === 'notify') p.notifies++
    else if (x.op === 'read_req' || x.op === 'read_blob_req') p.reads++
    else if (x.dir === 'up') p.other++
    if (x.dir === 'up') p.upBytes += x.bytes
    else p.downBytes += x.bytes
    if (prev === 'up' && x.dir === 'down') p.roundTrips++
    prev = x.dir
  }
  return p
}

interface Row {
  mtu: number
  transport: string
  setup: Phase
  payment: Phase
  end: Phase
}

async function measure(mtu: number, startWithFirstMessage: boolean): Promise<Row[]> {
  const rig = await startRig({ maxAttMtu: mtu })
  const rows: Row[] = []
  try {
    for (let i = 0; i < ROUNDS; i++) {
      const rec = recordPdus(rig)
      await rig.wallet.call('open', { tag: rig.tag, startWithFirstMessage })
      const a = rec.pdus.length
      await rig.wallet.call('payOpen', { sticker: rig.sticker, amount: 100 + i })
      const b = rec.pdus.length
      await rig.wallet.call('close')
      await rig.radio.waitFor((cs) => cs.some((x) => x.advertising && x.localName === `OPG ${rig.tag}`))
      rec.stop()
      // With a separate start, State 0x01 (write + response) went out during open(): it belongs to the payment.
      const setupEnd = startWithFirstMessage ? a : a - 2
      // The box's own State 0x02 notification (4 bytes) after the receipt is the session's end, not its cost.
      let payEnd = b
      while (payEnd > setupEnd && rec.pdus[payEnd - 1]?.op === 'notify' && rec.pdus[payEnd - 1]?.bytes === 4)
        payEnd--
      rows.push({
        mtu,
        transport: startWithFirstMessage ? 'hello in start' : 'separate start',
        setup: phase(rec.pdus.slice(0, setupEnd)),
        payment: phase(rec.pdus.slice(setupEnd, payEnd)),
        end: phase(rec.pdus.slice(payEnd)),
      })
    }
  } finally {
    await rig.close()
  }
  return rows
}

const all: Row[] = []
for (const mtu of [23, 185, 256]) {
  for (const carry of [false, true]) all.push(...(await measure(mtu, carry)))
}

// Setup and payment counts are deterministic; say so if a round differed. The end phase is a race (whichever
// side ends the session first: the box's State 0x02 notification, or the wallet's State 0x02 write), so it
// is shown as a range.
const key = (r: Row) => JSON.stringify([r.setup, r.payment])
const rows: Array<Row & { endRange: string }> = []
for (const r of all) {
  const same = all.filter((x) => x.mtu === r.mtu && x.transport === r.transport)
  if (same[0] !== r) continue
  if (same.some((x) => key(x) !== key(r)))
    console.log(`note: rounds differed at MTU ${r.mtu} (${r.transport})`)
  const ends = same.map((x) => x.end.pdus)
  const lo = Math.min(...ends)
  const hi = Math.max(...ends)
  rows.push({ ...r, endRange: lo === hi ? `${lo}` : `${lo}–${hi}` })
}

console.log(`BLE payment on the air, per payment (${ROUNDS} rounds each, counts identical unless noted)`)
console.log(
  `model: 1 ATT PDU per ${INTERVAL_MS} ms connection event per direction, no overlap → time = PDUs × ${INTERVAL_MS} ms\n`,
)
console.log(
  '| MTU | transport | payment: writes | notifications | reads | round trips | bytes up | bytes down | ATT PDUs | time @30 ms | setup PDUs (reads) | end PDUs |',
)
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|')
for (const r of rows) {
  const p = r.payment
  console.log(
    `| ${r.mtu} | ${r.transport} | ${p.writes} | ${p.notifies} | ${p.reads} | ${p.roundTrips} | ${p.upBytes} | ${p.downBytes} | ${p.pdus} | ${p.pdus * INTERVAL_MS} ms | ${r.setup.pdus} (${r.setup.reads}) | ${r.endRange} |`,
  )
}
const at185 = rows.find((r) => r.mtu === 185 && r.transport === 'hello in start')!.payment
console.log(
  `\ngoal at MTU 185: ≤ 2 round trips and ≤ 3 writes → ${at185.roundTrips} round trips, ${at185.writes} writes: ${
    at185.roundTrips <= 2 && at185.writes <= 3 ? 'met' : 'NOT met'
  }`,
)
