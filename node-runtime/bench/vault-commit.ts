/**
 * Vault commit benchmark. For 100, 10,000 and 100,000 stored payments it measures, in one run:
 *   - vault: FileVault.append() of one payment (encrypt + chain + write + fdatasync), awaited one by one;
 *   - raw: one buffer of the same size appended to a plain file and made durable, both ways: write +
 *     fdatasync (two system calls), and one write on an O_DSYNC file (what the vault does);
 *   - lowdb: the stock JSONFile adapter writing the whole store after adding the same record (sampled).
 * It prints p50/p99 and ratios, then the start-up (open + replay) time and memory with 100,000 payments,
 * measured in a fresh child process. Goals: vault p50 ≤ 1.3× raw and flat as the store grows; ready ≤ 1.5 s
 * and RSS ≤ 80 MB at 100,000. The raw baselines append the payment's unpadded frame, so the ratio includes
 * the cost of padding each commit to a flash block.
 *
 * The vault pre-allocates its segments (zeros written ahead, commits overwrite them in place); a second
 * vault with `preallocBytes: 0` (appending, as before pre-allocation) runs interleaved in the same loop.
 *
 * Write amplification: bytes handed to the file system per payment (commit padded to its block, segment
 * seals, high-water-mark slots counted as one block each) for sequential commits and for group commits of
 * 50, next to the frame's own size; and, when the disk is a real block device, the kernel's count of bytes
 * this process caused to be written (/proc/self/io write_bytes, which includes the file system's metadata).
 *
 * Run from node-runtime/: `npx tsx --conditions=@opg/source bench/vault-commit.ts` (VAULT_BENCH_DIR picks the disk; default tmpdir).
 */
import { execFileSync } from 'node:child_process'
import { constants } from 'node:fs'
import { mkdtemp, open, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Low } from 'lowdb'
import { JSONFile } from 'lowdb/node'
import { encodeRecord, FileVault, type PaymentRecord } from '../src/vault/index.js'

const KEY = new Uint8Array(16).fill(0x42)
const SIZES = [100, 10_000, 100_000]
const SAMPLES = 200

function payment(i: number): PaymentRecord {
  return {
    kind: 'payment',
    txId: `0192f000-0000-7000-8000-${i.toString(16).padStart(12, '0')}`,
    walletId: (i % 5000).toString(16).padStart(16, '0'),
    purseId: `p${i % 5000}`,
    counter: i,
    amount: 100 + (i % 900),
    currency: 'EUR',
    merchantId: '00000000000000aa',
    deviceId: '00000000000000bb',
    acceptedAt: 1_795_000_000_000 + i,
    channel: i % 2 ? 'qr' : 'ble',
    token: new Uint8Array(300).fill(i & 0xff),
    receipt: new Uint8Array(120).fill(7),
  }
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!
}
const ms = (x: number) => `${x.toFixed(3)}ms`.padStart(10)

async function timeEach(n: number, fn: (i: number) => Promise<void>): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    await fn(i)
    out.push(performance.now() - t0)
  }
  return out
}

async function fillVault(v: FileVault, from: number, to: number): Promise<void> {
  const GROUP = 1000
  for (let i = from; i < to; i += GROUP) {
    const batch: Promise<void>[] = []
    for (let j = i; j < Math.min(to, i + GROUP); j++) batch.push(v.append(payment(j)))
    await Promise.all(batch)
  }
}

/** The floor: a plain file appended one buffer of the vault's frame size at a time, made durable two ways. */
async function openRaw(dir: string, name: string, frameBytes: number, stored: number, dsync: boolean) {
  const path = join(dir, name)
  const h = await open(path, 'w')
  await h.truncate(stored * frameBytes)
  await h.datasync()
  await h.close()
  const flags = constants.O_WRONLY | constants.O_APPEND | (dsync ? constants.O_DSYNC : 0)
  const a = await open(path, flags)
  const buf = Buffer.alloc(frameBytes, 1)
  return {
    async append(): Promise<void> {
      await a.write(buf)
      if (!dsync) await a.datasync()
    },
    close: () => a.close(),
  }
}

/**
 * Time the three kinds of commit interleaved (vault, raw, raw O_DSYNC, vault, ...) so that they share
 * whatever else the machine and its disk are doing at each moment.
 */
async function interleaved(steps: (() => Promise<void>)[], samples: number): Promise<number[][]> {
  const out = steps.map(() => [] as number[])
  for (let i = 0; i < samples; i++) {
    for (const [k, step] of steps.entries()) {
      const t0 = performance.now()
      await step()
      out[k]!.push(performance.now() - t0)
    }
  }
  return out
}

type JsonPayment = Omit<PaymentRecord, 'token' | 'receipt'> & { token: string; receipt: string }
const toJson = (p: PaymentRecord): JsonPayment => ({
  ...p,
  token: Buffer.from(p.token).toString('base64'),
  receipt: Buffer.from(p.receipt).toString('base64'),
})

async function benchLowdb(dir: string, stored: number): Promise<number[]> {
  const db = new Low<{ payments: JsonPayment[] }>(new JSONFile(join(dir, 'low.json')), { payments: [] })
  for (let i = 0; i < stored; i++) db.data.payments.push(toJson(payment(i)))
  await db.write()
  // Whole-file rewrites grow with the store: sample fewer as it grows to keep the run bounded.
  const samples = stored >= 100_000 ? 5 : stored >= 10_000 ? 30 : SAMPLES
  return timeEach(samples, async (i) => {
    db.data.payments.push(toJson(payment(stored + i)))
    await db.write()
  })
}

/** Bytes this process caused to be written to storage so far (0 on tmpfs, or where /proc is absent). */
async function ioWriteBytes(): Promise<number> {
  try {
    const { readFile } = await import('node:fs/promises')
    const m = /write_bytes:\s*(\d+)/.exec(await readFile('/proc/self/io', 'utf8'))
    return m ? Number(m[1]) : 0
  } catch {
    return 0
  }
}

/** Bytes per payment for `n` payments committed `group` at a time. */
async function amplification(root: string, n: number, group: number, preallocBytes?: number) {
  const dir = join(root, `wa-${group}-${preallocBytes ?? 'default'}`)
  const v = await FileVault.open({ dir, key: KEY, preallocBytes })
  const io0 = await ioWriteBytes()
  for (let i = 0; i < n; i += group) {
    await Promise.all([...Array(group).keys()].map((j) => v.append(payment(20_000_000 + i + j))))
  }
  await v.settled()
  const io = (await ioWriteBytes()) - io0
  const { journal, markWrites, zeros } = v.flashBytes
  await v.close()
  await rm(dir, { recursive: true, force: true })
  return {
    logical: (journal + markWrites * 4096) / n,
    journal: journal / n,
    zeros: zeros / n,
    marks: markWrites / n,
    io: io / n,
  }
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(process.env.VAULT_BENCH_DIR ?? tmpdir(), 'opg-vault-bench-'))
  console.log(`vault commit benchmark in ${root} (${SAMPLES} sequential commits per case, interleaved)\n`)
  // Warm up the JIT and the file system on throwaway files first, so the first row is not penalised.
  {
    const dir = join(root, 'warmup')
    const v = await FileVault.open({ dir, key: KEY })
    const raw = await openRaw(dir, 'raw.bin', 600, 0, false)
    const dsync = await openRaw(dir, 'dsync.bin', 600, 0, true)
    let i = 0
    await interleaved([() => v.append(payment(10_000_000 + i++)), raw.append, dsync.append], 100)
    await Promise.all([v.close(), raw.close(), dsync.close()])
  }
  console.log(
    'stored  | vault p50    p99   | raw: write+fdatasync | raw: O_DSYNC write  | lowdb JSONFile         | vault/raw p50       | lowdb/vault',
  )
  console.log(
    '        |                    |  p50        p99      |  p50        p99     |  p50         p99       | fdatasync  O_DSYNC  |   p50',
  )
  let bigDir = ''
  const blockRows: string[] = []
  try {
    for (const n of SIZES) {
      const dir = join(root, `n${n}`)
      const v = await FileVault.open({ dir, key: KEY })
      await fillVault(v, 0, n)
      const va = await FileVault.open({ dir: join(dir, 'append'), key: KEY, preallocBytes: 0 })
      await fillVault(va, 0, n)
      // The raw baseline appends the frame itself (header + record + GCM tag), without the block padding.
      const frameBytes = 52 + encodeRecord(payment(n)).length + 16
      const raw = await openRaw(dir, 'raw.bin', frameBytes, n, false)
      const dsync = await openRaw(dir, 'dsync.bin', frameBytes, n, true)
      // The same bytes the vault writes: one padded 4 KiB block per commit, O_DSYNC.
      const block = await openRaw(dir, 'block.bin', 4096, 0, true)
      let i = n
      let k = n
      const [vault, rawTimes, rawDsync, rawBlock, vaultAppend] = (await interleaved(
        [() => v.append(payment(i++)), raw.append, dsync.append, block.append, () => va.append(payment(k++))],
        SAMPLES,
      )) as [number[], number[], number[], number[], number[]]
      await Promise.all([v.close(), va.close(), raw.close(), dsync.close(), block.close()])
      await rm(join(dir, 'block.bin'), { force: true })
      await rm(join(dir, 'append'), { recursive: true, force: true })
      blockRows.push(
        `${String(n).padEnd(7)} | raw O_DSYNC 4 KiB block p50 ${ms(pct(rawBlock, 50))} | vault ÷ it ${(pct(vault, 50) / pct(rawBlock, 50)).toFixed(2)}× | vault without pre-allocation p50 ${ms(pct(vaultAppend, 50))} (${(pct(vaultAppend, 50) / pct(rawDsync, 50)).toFixed(2)}× raw O_DSYNC)`,
      )
      const low = await benchLowdb(dir, n)
      await rm(join(dir, 'low.json'), { force: true })
      await rm(join(dir, 'raw.bin'), { force: true })
      await rm(join(dir, 'dsync.bin'), { force: true })
      const [vp, rp, dp, lp] = [pct(vault, 50), pct(rawTimes, 50), pct(rawDsync, 50), pct(low, 50)]
      console.log(
        `${String(n).padEnd(7)} |${ms(vp)}${ms(pct(vault, 99))} |${ms(rp)}${ms(pct(rawTimes, 99))} |${ms(dp)}${ms(pct(rawDsync, 99))} |${ms(lp)}${ms(pct(low, 99))} | ${(vp / rp).toFixed(2).padStart(8)}× ${(vp / dp).toFixed(2).padStart(7)}× | ${(lp / vp).toFixed(0).padStart(7)}×`,
      )
      if (n === 100_000) bigDir = dir
    }
    console.log('\nagainst a raw append of the same bytes the vault writes (a padded block per commit):')
    for (const row of blockRows) console.log(row)
    const frame = 52 + encodeRecord(payment(0)).length + 16
    console.log(`\nwrite amplification (frame ${frame} B; block 4096 B; mark slot = one 4096 B block):`)
    for (const prealloc of [undefined, 0]) {
      for (const group of [1, 50]) {
        const a = await amplification(root, 1000, group, prealloc)
        const io = a.io > 0 ? `, kernel write_bytes ${a.io.toFixed(0)} B/payment` : ''
        console.log(
          `  ${prealloc === 0 ? 'appending    ' : 'pre-allocated'} commits of ${String(group).padStart(2)}: ${a.logical.toFixed(0)} B/payment (journal ${a.journal.toFixed(0)} B of which zeros ${a.zeros.toFixed(0)} B, ${a.marks.toFixed(2)} mark writes) = ${(a.logical / frame).toFixed(1)}× the frame${io}`,
        )
      }
    }
    const child = fileURLToPath(new URL('./vault-open.ts', import.meta.url))
    const out = execFileSync(
      process.execPath,
      ['--expose-gc', '--conditions=@opg/source', '--import', 'tsx', child, bigDir],
      {
        encoding: 'utf8',
      },
    )
    const r = JSON.parse(out) as Record<string, number>
    const mb = (x: number | undefined) => `${((x ?? 0) / 2 ** 20).toFixed(1)} MB`
    console.log(
      `\nstart-up with ${r.records} payments (${mb(r.bytes)} on disk): ready in ${r.readyMs!.toFixed(0)} ms (goal ≤ 1500)`,
    )
    console.log(
      `RSS ${mb(r.rssSettled)} after open (goal ≤ 80 MB; ${mb(r.rssBefore)} before open, loader included), heap used ${mb(r.heapUsed)}`,
    )
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

await main()
