/**
 * Ingest profile: where one batch's time goes. Runs BENCH_TOKENS tokens through the real path one batch at a
 * time (no overlap, so stage times add up) and prints, per batch: SQL round trips, time per stage (decrypt,
 * verify, database transaction, ack seal) and the time and count of each kind of SQL statement. Ratios are
 * what matter on a shared machine; absolute times move with the load.
 *
 *   npx tsx --conditions=@opg/source cloud-bridge/bench/ingest-profile.ts      (BENCH_TOKENS=2000 BENCH_BATCH=100 BENCH_PAYERS=32)
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { loadavg } from 'node:os'
import { AckSchema, openMqtt, sealMqtt, TxBatchSchema, uuidv7 } from '@opg/protocol'
import type { Db, Tx } from '../src/db/index.js'
import { sqlDeviceDirectory } from '../src/ingest/adapters.js'
import { BatchProcessor } from '../src/ingest/processor.js'
import { transfer } from '../src/ledger/post.js'
import { ledgerPort, smsOutboxNotifier } from '../src/reconcile/adapters.js'
import { Reconciler } from '../src/reconcile/reconciler.js'
import { InlineVerifier, type TokenVerifier, VerifyPool } from '../src/verify/pool.js'
import { Box, registerBox, staticKeyrings, testUnseal } from '../test/ingest/harness.js'
import { createTestDb, seedTenant } from '../test/reconcile/support.js'
import { c, makeIssuer, TestWallet } from '../test/verify/fixtures.js'
import { postgresCpuMs } from './cpu.js'

const TOKENS = Number(process.env.BENCH_TOKENS ?? 2000)
const BATCH = Number(process.env.BENCH_BATCH ?? 100)
const WALLETS = Number(process.env.BENCH_PAYERS ?? 32)

/** Statement kind: its first words, with identifiers kept and parameters dropped. */
const kindOf = (sql: string) =>
  sql
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/\(\$\d+.*$/, '(…')
    .slice(0, 70)

interface Counter {
  n: number
  ms: number
}

/** A Db whose transactions count and time every statement. */
function counting(db: Db, stats: Map<string, Counter>) {
  const wrap = (tx: Tx): Tx =>
    new Proxy(tx, {
      get(target, prop) {
        if (prop !== 'query') return Reflect.get(target, prop)
        return async (text: string, params?: readonly unknown[]) => {
          const t0 = performance.now()
          try {
            return await target.query(text, params)
          } finally {
            const k = kindOf(text)
            const e = stats.get(k) ?? { n: 0, ms: 0 }
            e.n++
            e.ms += performance.now() - t0
            stats.set(k, e)
          }
        }
      },
    })
  return {
    transaction: <T>(fn: (tx: Tx) => Promise<T>) => {
      const t0 = performance.now()
      return db
        .transaction(async (tx) => {
          const out = await fn(wrap(tx))
          // Fire the deferred constraint triggers here, timed, instead of inside COMMIT.
          const t1 = performance.now()
          await tx.query('SET CONSTRAINTS ALL IMMEDIATE')
          const e = stats.get('(deferred triggers at commit)') ?? { n: 0, ms: 0 }
          e.n++
          e.ms += performance.now() - t1
          stats.set('(deferred triggers at commit)', e)
          return out
        })
        .finally(() => {
          const e = stats.get('(whole transaction incl. BEGIN/COMMIT)') ?? { n: 0, ms: 0 }
          e.n++
          e.ms += performance.now() - t0
          stats.set('(whole transaction incl. BEGIN/COMMIT)', e)
        })
    },
  }
}

async function main() {
  const tdb = await createTestDb('postgres')
  const db = tdb.db
  try {
    const issuer = makeIssuer()
    const seed = await seedTenant(db, { purse: 1 })
    const dev = await registerBox(db, seed.tenantId, seed.merchantId)
    const wallets: TestWallet[] = []
    for (let i = 0; i < WALLETS; i++) {
      const w = new TestWallet(issuer, { purse: 1_000_000, limit: 1000 })
      await db.transaction(async (tx) => {
        await tx.query(
          'INSERT INTO wallets (tenant_id, id, public_key, phone, currency) VALUES ($1, $2, $3, $4, $5)',
          [seed.tenantId, w.id, w.keys.publicKey, null, 'EUR'],
        )
        await transfer(tx, {
          ref: `bench:${w.id}`,
          tenantId: seed.tenantId,
          from: { tenantId: seed.tenantId, kind: 'suspense', ownerId: seed.tenantId, currency: 'EUR' },
          to: { tenantId: seed.tenantId, kind: 'purse_escrow', ownerId: w.id, currency: 'EUR' },
          amount: 1_000_000n,
        })
      })
      wallets.push(w)
    }
    const tokens = Array.from({ length: TOKENS }, (_, i) =>
      wallets[i % WALLETS]!.pay(dev.merchantId, dev.deviceId, 1 + (i % 500)),
    )
    const box = new Box(dev, 'mqtt://unused', 5)
    const batches: Uint8Array[] = []
    for (let i = 0; i < tokens.length; i += BATCH)
      batches.push(box.seal(tokens.slice(i, i + BATCH), uuidv7(c)))
    const topicName = box.topic('up/tx')

    const sql = new Map<string, Counter>()
    const stage = { decrypt: 0, verify: 0, verifyCpu: 0, seal: 0, total: 0 }
    // BENCH_POOL=1: verify on the worker pool, so a CPU profile shows the main thread's own work only.
    const pool = process.env.BENCH_POOL ? new VerifyPool() : null
    await pool?.start()
    const verifier: TokenVerifier = pool ?? new InlineVerifier()
    const timedVerifier = {
      verify: async (...a: Parameters<TokenVerifier['verify']>) => {
        const t0 = performance.now()
        const c0 = process.cpuUsage()
        const r = await verifier.verify(...a)
        const c1 = process.cpuUsage(c0)
        stage.verifyCpu += (c1.user + c1.system) / 1000
        stage.verify += performance.now() - t0
        return r
      },
    }
    const reconciler = new Reconciler({ db, ledger: ledgerPort(), notifier: smsOutboxNotifier() })
    const processor = new BatchProcessor({
      db: counting(db, sql),
      reconciler,
      verifier: timedVerifier,
      devices: sqlDeviceDirectory(db, testUnseal),
      keyrings: staticKeyrings(new Map([[seed.tenantId, issuer]])),
      crypto: c,
    })
    await processor.process(topicName, batches[0]!) // warm caches (device key, keyring)
    sql.clear()
    stage.verify = 0
    stage.verifyCpu = 0
    const key = box.key
    const timed = batches.slice(1)
    // PROFILE_OUT=file.cpuprofile: a CPU profile of the timed loop only (open in Chrome DevTools).
    const inspector = process.env.PROFILE_OUT ? new Session() : null
    if (inspector) {
      inspector.connect()
      await inspector.post('Profiler.enable')
      await inspector.post('Profiler.start')
    }
    const threads = () => {
      const m = new Map<string, number>()
      for (const tid of readdirSync('/proc/self/task')) {
        try {
          const st = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
          const name = st.slice(st.indexOf('(') + 1, st.lastIndexOf(')'))
          const f = st.slice(st.lastIndexOf(')') + 2).split(' ')
          m.set(`${name}#${tid}`, (Number(f[11]) + Number(f[12])) * 10)
        } catch {}
      }
      return m
    }
    const th0 = process.env.THREADS ? threads() : null
    const cpu0 = process.cpuUsage()
    const pg0 = postgresCpuMs()
    const t0 = performance.now()
    for (const b of timed) {
      const r = await processor.process(topicName, b)
      if (r.kind !== 'batch') throw new Error('batch not processed')
    }
    stage.total = performance.now() - t0
    const cpu = process.cpuUsage(cpu0)
    if (th0) {
      for (const [k, v] of threads()) {
        const d = v - (th0.get(k) ?? 0)
        if (d > 0) console.log(`thread ${k}: ${d} ms`)
      }
    }
    const pgCpu = postgresCpuMs() - pg0
    if (inspector) {
      const { profile } = await inspector.post('Profiler.stop')
      writeFileSync(process.env.PROFILE_OUT!, JSON.stringify(profile))
      inspector.disconnect()
    }
    // Decrypt and seal measured apart (same work as inside process()).
    let t1 = performance.now()
    for (const b of timed) openMqtt(c, key, topicName, TxBatchSchema, b)
    stage.decrypt = performance.now() - t1
    const ack = {
      v: 1 as const,
      batch: uuidv7(c),
      accepted: tokens.slice(0, BATCH).map((t) => t.txId),
      rejected: [],
    }
    t1 = performance.now()
    for (const _ of timed) sealMqtt(c, key, box.topic('down/ack'), AckSchema, ack)
    stage.seal = performance.now() - t1

    const nb = timed.length
    const per = (ms: number) => (ms / nb).toFixed(2)
    const txMs = sql.get('(whole transaction incl. BEGIN/COMMIT)')?.ms ?? 0
    console.log(
      `batches ${nb} × ${BATCH} tokens, ${WALLETS} wallets, load average ${loadavg()[0]!.toFixed(1)}`,
    )
    console.log(`path (sequential)   ${Math.round((nb * BATCH * 1000) / stage.total)} tx/s`)
    console.log('ms per batch:')
    console.log(`  decrypt             ${per(stage.decrypt)}`)
    console.log(`  verify (1 core)     ${per(stage.verify)}`)
    console.log(`  db transaction      ${per(txMs)}`)
    console.log(`    of which deferred triggers ${per(sql.get('(deferred triggers at commit)')?.ms ?? 0)}`)
    console.log(`  ack seal            ${per(stage.seal)}`)
    console.log(`  whole process()     ${per(stage.total)}`)
    const nodeCpu = (cpu.user + cpu.system) / 1000
    console.log(`CPU per batch: this process ${per(nodeCpu)} ms (verify ${per(stage.verifyCpu)}),`)
    console.log(`               PostgreSQL ${per(pgCpu)} ms (all server processes; others' load included)`)
    let trips = 0
    for (const [k, v] of sql) if (!k.startsWith('(')) trips += v.n
    console.log(`SQL round trips per batch: ${(trips / nb).toFixed(1)} (+ BEGIN, COMMIT)`)
    const rows = [...sql].filter(([k]) => !k.startsWith('(')).sort((a, b) => b[1].ms - a[1].ms)
    for (const [k, v] of rows)
      console.log(`  ${(v.n / nb).toFixed(1).padStart(5)} × ${per(v.ms).padStart(6)} ms  ${k}`)
    // Row updates per table, and how many were HOT (no index touched: the new row version fit on its page).
    await new Promise((r) => setTimeout(r, 1500)) // the backends report their counters within a second
    const upd = await db.query<{ relname: string; n_tup_upd: string; n_tup_hot_upd: string }>(
      `SELECT relname, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE n_tup_upd > 0 ORDER BY relname`,
    )
    for (const r of upd.rows)
      console.log(
        `  updates ${r.relname.padEnd(24)} ${String(r.n_tup_upd).padStart(7)}, HOT ${r.n_tup_hot_upd}`,
      )
    await pool?.stop()
  } finally {
    await tdb.drop()
  }
}

await main()
