/**
 * Ingest benchmark: verified payments per second into PostgreSQL through the real path (sealed MQTT batch →
 * decrypt → verify on the worker pool → reconcile + ledger in one transaction → sealed ack), with 1 worker and
 * with one per core, side by side with a raw 100-row `INSERT … ON CONFLICT DO NOTHING` of the same rows and
 * the single-core verify rate, all in one run. Goal: all-core rate ≥ 0.8 × cores × single-core verify rate.
 * It also prints the CPU time each verified payment costs (this process and PostgreSQL's backends for the
 * scratch database) and the rate that CPU cost allows on idle cores: the figure that survives a loaded machine.
 * Second goal: all-in CPU per verified payment (bridge + PostgreSQL) ≤ 1.5 × (one Ed25519 verify + one raw row
 * insert), both measured in this run; the all-core path runs with and without the purse-certificate cache.
 *
 *   npm run bench -w cloud-bridge      (or: npx tsx --conditions=@opg/source cloud-bridge/bench/ingest.ts)
 *   BENCH_TOKENS=4000 BENCH_BATCH=100 BENCH_INFLIGHT=4 BENCH_PAYERS=32 BENCH_ROUNDS=4 OPG_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres
 *
 * The all-core path and the floor it is compared with are measured in BENCH_ROUNDS interleaved slices and
 * summed, so the ratio is not at the mercy of when each ran (these machines' speed drifts within a run).
 */
import { availableParallelism, loadavg } from 'node:os'
import { type PaymentToken, uuidv7, verifyDomain } from '@opg/protocol'
import { createBridgeBackend } from '../src/crypto.js'
import { sqlDeviceDirectory } from '../src/ingest/adapters.js'
import { BatchProcessor } from '../src/ingest/processor.js'
import { transfer } from '../src/ledger/post.js'
import { ledgerPort, smsOutboxNotifier } from '../src/reconcile/adapters.js'
import { insertPayments } from '../src/reconcile/executor.js'
import { Reconciler } from '../src/reconcile/reconciler.js'
import type { PaymentRecord } from '../src/reconcile/types.js'
import { InlineVerifier, type TokenVerifier, VerifyPool } from '../src/verify/pool.js'
import { tokenDigest } from '../src/verify/verify-token.js'
import { Box, registerBox, staticKeyrings, testUnseal } from '../test/ingest/harness.js'
import { createTestDb, seedTenant } from '../test/reconcile/support.js'
import { c, makeIssuer, TestWallet } from '../test/verify/fixtures.js'
import { withCpu } from './cpu.js'

const TOKENS = Number(process.env.BENCH_TOKENS ?? 3000)
const BATCH = Number(process.env.BENCH_BATCH ?? 100)
const cores = availableParallelism()
/**
 * Batches in flight at once on the whole path: as many as the bridge's MQTT connections (OPG_MQTT_CONNECTIONS,
 * two per core by default, so a core has a batch to work on while another waits on the database).
 * BENCH_INFLIGHT=2 gives the figures of earlier runs on 2 cores (one per core).
 */
const INFLIGHT = Number(process.env.BENCH_INFLIGHT ?? 2 * cores)
/**
 * Payers in each batch (32: about three payments each), whatever the number in flight, so the work per batch is
 * fixed. Each payer costs a wallet lock, a purse update, an escrow posting and its balance: BENCH_PAYERS=100
 * (every payment from another payer) and BENCH_PAYERS=8 show what that share costs.
 */
const BATCH_WALLETS = Number(process.env.BENCH_PAYERS ?? 32)
const WALLETS = BATCH_WALLETS * INFLIGHT
/** The all-core path and its floor are measured in this many interleaved slices (section 3). */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4)

const rate = (n: number, ms: number) => Math.round((n / ms) * 1000)

async function main() {
  const tdb = await createTestDb('postgres')
  const db = tdb.db
  const dbName = tdb.url?.replace(/^.*\//, '') ?? undefined
  const load0 = loadavg()[0]!
  try {
    const issuer = makeIssuer()
    const seed = await seedTenant(db, { purse: 1 })
    const dev = await registerBox(db, seed.tenantId, seed.merchantId)
    // Two independent token sets (one per measured run), each spread over WALLETS funded wallets.
    const makeSet = async () => {
      const wallets: TestWallet[] = []
      for (let i = 0; i < WALLETS; i++) {
        const w = new TestWallet(issuer, { purse: 1_000_000, limit: 1000 })
        await db.transaction(async (tx) => {
          await tx.query(
            'INSERT INTO wallets (tenant_id, id, public_key, phone, currency) VALUES ($1, $2, $3, $4, $5)',
            [seed.tenantId, w.id, w.keys.publicKey, null, 'EUR'],
          )
          const acc = (kind: 'suspense' | 'purse_escrow', owner: string) => ({
            tenantId: seed.tenantId,
            kind,
            ownerId: owner,
            currency: 'EUR',
          })
          await transfer(tx, {
            ref: `bench:${w.id}`,
            tenantId: seed.tenantId,
            from: acc('suspense', seed.tenantId),
            to: acc('purse_escrow', w.id),
            amount: 1_000_000n,
          })
        })
        wallets.push(w)
      }
      // Batch b draws from wallet group b % INFLIGHT, so the batches in flight at once lock disjoint wallets.
      const group = BATCH_WALLETS
      const tokens: PaymentToken[] = []
      for (let i = 0; i < TOKENS; i++) {
        const g = Math.floor(i / BATCH) % INFLIGHT
        const w = wallets[(g * group + (i % group)) % WALLETS]!
        tokens.push(w.pay(dev.merchantId, dev.deviceId, 1 + (i % 500)))
      }
      return tokens
    }
    const setA = await makeSet()
    const setB = await makeSet()
    const setC = await makeSet()

    // 1. Single-core verify rate (this thread, no I/O).
    const inline = new InlineVerifier()
    const ctx = {
      tenantId: seed.tenantId,
      issuerKeys: issuer.keyring,
      nowS: Math.floor(Date.now() / 1000),
      graceS: 72 * 3600,
      merchantId: dev.merchantId,
      deviceId: dev.deviceId,
    }
    await inline.verify(
      setA.slice(0, 200).map((t) => t.bytes),
      ctx,
    )
    const t0 = performance.now()
    const verifyCpu = await withCpu(() =>
      inline.verify(
        setA.map((t) => t.bytes),
        ctx,
      ),
    )
    const verify1 = rate(TOKENS, performance.now() - t0)
    const verifyUs = (verifyCpu.bridgeMs * 1000) / TOKENS
    // One Ed25519 verification (the wallet's signature of each token), nothing else: on the bridge's backend
    // (libsodium; the floor), and on node:crypto's OpenSSL (the floor of the earlier runs in BENCHMARKS.md).
    const sigs = setA.map((t) => ({
      key: t.cert.publicKey,
      body: t.bytes.subarray(0, t.bytes.length - 64),
      sig: t.signature,
    }))
    /** CPU ms of verifying `list`'s signatures on `backend`. */
    const verifyMs = async (backend: typeof c, list: typeof sigs) => {
      const cpu = await withCpu(async () => {
        for (const x of list)
          if (!verifyDomain(backend, x.key, 'token', x.body, x.sig))
            throw new Error('signature does not verify')
      })
      return cpu.bridgeMs
    }
    const sodiumC = createBridgeBackend()
    for (const b of [sodiumC, c]) await verifyMs(b, sigs.slice(0, 200))

    // 2. The whole path into PostgreSQL, with a pool of `size` workers and INFLIGHT batches in flight.
    const box = new Box(dev, 'mqtt://unused', 5)
    const topicName = box.topic('up/tx')
    // Sealed up front, outside the CPU measured: sealing is the box's work. Batches grouped so concurrent
    // batches touch disjoint wallets (as different boxes' customers would).
    const seal = (tokens: PaymentToken[]) => {
      const batches: Uint8Array[] = []
      for (let i = 0; i < tokens.length; i += BATCH)
        batches.push(box.seal(tokens.slice(i, i + BATCH), uuidv7(c)))
      return batches
    }
    const runPath = async (batches: Uint8Array[], verifier: TokenVerifier) => {
      const reconciler = new Reconciler({ db, ledger: ledgerPort(), notifier: smsOutboxNotifier() })
      const processor = new BatchProcessor({
        db,
        reconciler,
        verifier,
        devices: sqlDeviceDirectory(db, testUnseal),
        keyrings: staticKeyrings(new Map([[seed.tenantId, issuer]])),
        crypto: c,
      })
      let next = 0
      await Promise.all(
        Array.from({ length: INFLIGHT }, async () => {
          while (next < batches.length) {
            const r = await processor.process(topicName, batches[next++]!)
            if (r.kind !== 'batch' || r.ack.accepted.length === 0) throw new Error('batch not accepted')
          }
        }),
      )
    }
    /** The path over `tokens`: its rate and CPU. */
    const timePath = async (tokens: PaymentToken[], verifier: TokenVerifier) => {
      const batches = seal(tokens)
      const start = performance.now()
      const cpu = await withCpu(() => runPath(batches, verifier), dbName)
      return { ...cpu, value: rate(tokens.length, performance.now() - start) }
    }
    // Verification alone on the pool (no database), for each pool size.
    const poolOnly = async (v: TokenVerifier) => {
      const start = performance.now()
      await Promise.all(
        Array.from({ length: cores }, async (_, k) => {
          for (let i = k * BATCH; i < setA.length; i += cores * BATCH) {
            await v.verify(
              setA.slice(i, i + BATCH).map((t) => t.bytes),
              ctx,
            )
          }
        }),
      )
      return rate(setA.length, performance.now() - start)
    }
    const pool1 = new VerifyPool({ size: 1 })
    await pool1.start()
    await poolOnly(pool1)
    const verifyPool1 = await poolOnly(pool1)
    const run1 = await timePath(setA, pool1)
    const path1 = run1.value
    await pool1.stop()
    // All cores, first verifying every purse certificate on every token (as before the cache), then cached.
    const poolU = new VerifyPool({ size: cores, certCache: 0 })
    await poolU.start()
    await poolOnly(poolU)
    const verifyPoolU = await poolOnly(poolU)
    const runU = await timePath(setC, poolU)
    const pathU = runU.value
    await poolU.stop()

    // 3. The headline: the all-core path and its floor (one raw row insert, one Ed25519 verify on each
    // backend), measured in ROUNDS interleaved slices, so a drift of this machine's speed within the run (seen
    // at ±30 % over minutes) weighs on the path and on its floor alike instead of on whichever ran at the time.
    // The raw rows: a 100-row INSERT … ON CONFLICT DO NOTHING of setA's rows into a copy of offline_payments.
    await db.exec('CREATE TABLE bench_raw (LIKE offline_payments INCLUDING ALL)')
    const now = Date.now()
    const rows: PaymentRecord[] = setA.map((t) => ({
      txId: t.txId,
      tenantId: seed.tenantId,
      walletId: t.walletId,
      merchantId: t.merchantId,
      deviceId: t.deviceId,
      purseId: `${t.walletId}:${t.cert.counterBase}`,
      amount: t.amount,
      currency: t.currency,
      counter: t.counter,
      token: t.bytes,
      tokenHash: tokenDigest(t.bytes),
      state: 'held',
      fundedFrom: 'escrow',
      firstReceivedAt: now,
      merchantSeenAt: now,
      payerSeenAt: null,
      holdUntil: now + 72 * 3600_000,
      settledAt: null,
      claimUntil: null,
    }))
    const poolN = new VerifyPool({ size: cores })
    await poolN.start()
    await poolOnly(poolN)
    const verifyPoolN = await poolOnly(poolN)
    const batchesN = seal(setB)
    const sum = {
      pathMs: 0,
      bridgeMs: 0,
      pgMs: 0,
      rawMs: 0,
      rawBridgeMs: 0,
      rawPgMs: 0,
      sodiumMs: 0,
      opensslMs: 0,
    }
    const roundRatios: number[] = []
    for (let r = 0; r < ROUNDS; r++) {
      // Round r's share of `list`, cut at multiples of `per` (whole 100-row inserts); the last round takes the rest.
      const at = (k: number, list: unknown[], per: number) =>
        k === ROUNDS ? list.length : Math.round((k * list.length) / ROUNDS / per) * per
      const part = <T>(list: T[], per: number) => list.slice(at(r, list, per), at(r + 1, list, per))
      const b = part(batchesN, 1)
      const start = performance.now()
      const p = await withCpu(() => runPath(b, poolN), dbName)
      sum.pathMs += performance.now() - start
      const slice = part(rows, 100)
      const rawStart = performance.now()
      const w = await withCpu(async () => {
        for (let i = 0; i < slice.length; i += 100) {
          await db.transaction((tx) => insertPayments(tx, slice.slice(i, i + 100), 'bench_raw'))
        }
      }, dbName)
      sum.rawMs += performance.now() - rawStart
      const sodium = await verifyMs(sodiumC, part(sigs, 1))
      sum.opensslMs += await verifyMs(c, part(sigs, 1))
      sum.sodiumMs += sodium
      sum.bridgeMs += p.bridgeMs
      sum.pgMs += p.postgresMs
      sum.rawBridgeMs += w.bridgeMs
      sum.rawPgMs += w.postgresMs
      const n = b.length * BATCH
      roundRatios.push(
        (p.bridgeMs + p.postgresMs) / n / ((sodium + w.bridgeMs + w.postgresMs) / slice.length),
      )
    }
    await poolN.stop()
    const pathN = rate(TOKENS, sum.pathMs)
    const runN = { bridgeMs: sum.bridgeMs, postgresMs: sum.pgMs }
    const rawCpu = { bridgeMs: sum.rawBridgeMs, postgresMs: sum.rawPgMs }
    const raw = rate(rows.length, sum.rawMs)

    const goal = Math.round(0.8 * cores * verify1)
    // CPU each verified payment cost (this process, every thread + the PostgreSQL backends of this database):
    // on a loaded machine the rates above follow the CPU share this run got; these barely move.
    const us = (r: { bridgeMs: number; postgresMs: number }) => ({
      bridge: Math.round((r.bridgeMs * 1000) / TOKENS),
      pg: Math.round((r.postgresMs * 1000) / TOKENS),
    })
    const cpu1 = us(run1)
    const cpuN = us(runN)
    const cpuU = us(runU)
    const cpuRaw = us(rawCpu)
    const ceiling = Math.round((cores * 1e6) / (cpuN.bridge + cpuN.pg))
    // The floor a payment cannot go under: one signature check and one row written.
    const edUs = (sum.sodiumMs * 1000) / TOKENS
    const edOpensslUs = (sum.opensslMs * 1000) / TOKENS
    const rawUs = (rawCpu.bridgeMs + rawCpu.postgresMs) * (1000 / TOKENS)
    const floor = edUs + rawUs
    const ratio = (x: { bridge: number; pg: number }, f = floor) => ((x.bridge + x.pg) / f).toFixed(2)
    const out = [
      ['tokens per run', TOKENS],
      ['batch size', BATCH],
      ['batches in flight on the path', INFLIGHT],
      ['payers per batch', BATCH_WALLETS],
      ['cores', cores],
      ['single-core verify (tx/s, no I/O)', verify1],
      ['verify on pool, 1 worker (tx/s, no I/O)', verifyPool1],
      [`verify on pool, ${cores} workers, no cert cache (tx/s, no I/O)`, verifyPoolU],
      [`verify on pool, ${cores} workers (tx/s, no I/O)`, verifyPoolN],
      ['verified into PostgreSQL, 1 worker (tx/s)', path1],
      [`verified into PostgreSQL, ${cores} workers, no cert cache (tx/s)`, pathU],
      [`verified into PostgreSQL, ${cores} workers (tx/s)`, pathN],
      ['raw 100-row INSERT … ON CONFLICT (rows/s)', raw],
      ['goal: 0.8 × cores × single-core verify (tx/s)', goal],
      ['all-core rate / goal', (pathN / goal).toFixed(2)],
      ['CPU µs per tx: single-core verify (cached cert)', Math.round(verifyUs)],
      ['CPU µs: one Ed25519 verify (libsodium, the bridge)', Math.round(edUs)],
      ['CPU µs: one Ed25519 verify (OpenSSL, node:crypto)', Math.round(edOpensslUs)],
      ['CPU µs per tx, 1 worker: bridge + PostgreSQL', `${cpu1.bridge} + ${cpu1.pg}`],
      [`CPU µs per tx, ${cores} workers, no cert cache: bridge + PG`, `${cpuU.bridge} + ${cpuU.pg}`],
      [`CPU µs per tx, ${cores} workers: bridge + PostgreSQL`, `${cpuN.bridge} + ${cpuN.pg}`],
      ['CPU µs per row, raw INSERT: bridge + PostgreSQL', `${cpuRaw.bridge} + ${cpuRaw.pg}`],
      ['floor: one verify + one raw row (CPU µs)', Math.round(floor)],
      [`all-in CPU / floor, ${cores} workers, no cert cache`, ratio(cpuU)],
      [`all-in CPU / floor, ${cores} workers (goal ≤ 1.5)`, ratio(cpuN)],
      [
        `  the same, per round (${ROUNDS} rounds): min – max`,
        `${Math.min(...roundRatios).toFixed(2)} – ${Math.max(...roundRatios).toFixed(2)}`,
      ],
      [`all-in CPU / floor with OpenSSL's verify, ${cores} workers`, ratio(cpuN, edOpensslUs + rawUs)],
      [`CPU-bound ceiling, ${cores} idle cores (tx/s)`, ceiling],
      ['ceiling / goal', (ceiling / goal).toFixed(2)],
      ['load average at start / end', `${load0.toFixed(1)} / ${loadavg()[0]!.toFixed(1)}`],
    ] as const
    for (const [k, v] of out) console.log(`${k.padEnd(56)} ${v}`)
    const load = Math.max(load0, loadavg()[0]!)
    if (load > cores * 0.5) {
      console.log(
        `note: load average ${load.toFixed(1)} on ${cores} cores — other processes share the CPUs, so the`,
      )
      console.log(
        '      worker pool has no idle core to use; rerun on a quiet machine for the scaling figure.',
      )
    }
  } finally {
    await tdb.drop()
  }
}

await main()
