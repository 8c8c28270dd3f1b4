/**
 * Reconnect sync of a 10,000-payment backlog over loopback Mosquitto (127.0.0.1:1883): the node comes online
 * with 10,000 unacked payments in its file vault and the clock runs until the bridge stand-in has acked every
 * one and the vault has durably marked them synced. Same-run baseline: a raw QoS 1 publish of the very same
 * sealed batch bytes to a plain subscriber (no acks, no vault).
 * Run: npm run bench -w node-runtime
 */
import { mkdtemp, rm } from 'node:fs/promises'
import os, { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deriveKey, id8ToBytes, signReceipt } from '@opg/protocol'
import mqtt from 'mqtt'
import { protocolCodec } from '../src/sync/codec.js'
import { SyncEngine } from '../src/sync/sync-engine.js'
import { nodeTopics } from '../src/sync/topics.js'
import { FileVault } from '../src/vault/file-vault.js'
import type { PaymentRecord } from '../src/vault/types.js'
import { c, MERCHANT, makeWorld, NOW_MS, randomId, TENANT, TestWallet } from '../test/accept/fixtures.js'
import { clearSession, deviceKey, FakeBridge } from '../test/sync/harness.js'

const N = Number(process.env.BENCH_SYNC_N ?? 10_000)
const URL = 'mqtt://127.0.0.1:1883'
const BATCH = 200
const WINDOW = 8

const world = makeWorld(randomId())
const dir = await mkdtemp(join(tmpdir(), 'opg-bench-sync-'))
const vault = await FileVault.open({
  dir,
  key: deriveKey(c, world.deviceSecret, 'vault', id8ToBytes(world.deviceId)),
})

// The backlog: real signed tokens and receipts, journaled as acceptance would have (group-committed here).
const wallets = Array.from(
  { length: 100 },
  () => new TestWallet(world, { purseAmount: 4e9, perPaymentLimit: 1e6 }),
)
const appends: Promise<void>[] = []
for (let i = 0; i < N; i++) {
  const token = wallets[i % wallets.length]!.token(100 + (i % 900))
  const rec: PaymentRecord = {
    kind: 'payment',
    txId: token.txId,
    walletId: token.walletId,
    counter: token.counter,
    amount: token.amount,
    currency: token.currency,
    merchantId: MERCHANT,
    deviceId: world.deviceId,
    acceptedAt: NOW_MS,
    channel: 'qr',
    token: token.bytes,
    receipt: signReceipt(c, world.nodeSigning.secretKey, token, Math.floor(NOW_MS / 1000)).bytes,
  }
  appends.push(vault.append(rec))
}
await Promise.all(appends)

const bridge = new FakeBridge(URL)
bridge.addDevice(world.deviceId, world.deviceSecret)
await bridge.start()
const topics = nodeTopics(TENANT, world.deviceId)
const codec = protocolCodec(c, deviceKey(world.deviceSecret, world.deviceId), topics)
const engine = new SyncEngine({
  url: URL,
  tenantId: TENANT,
  deviceId: world.deviceId,
  vault,
  codec,
  batchSize: BATCH,
  window: WINDOW,
  ackTimeoutMs: 30_000,
})
let batches = 0
let bytes = 0
engine.on('published', (p) => {
  batches++
  bytes += p.bytes
})
const t0 = performance.now()
engine.start()
await engine.syncNow(120_000)
const syncMs = performance.now() - t0
await engine.stop()
if (bridge.booked.size !== N) throw new Error(`bridge booked ${bridge.booked.size} of ${N}`)
await bridge.stop()

// Baseline: the same number of batches of the same size, sealed once, published raw at QoS 1.
const all: PaymentRecord[] = []
for (const s of vault.payments()) {
  const r = await vault.get(s.txId)
  if (r) all.push(r)
  if (all.length >= BATCH) break
}
const payload = Buffer.from(codec.sealBatch('018f0000-0000-7000-8000-000000000000', all))
const rawTopic = `opg-bench/${randomId()}`
const sub = await mqtt.connectAsync(URL, { clientId: `bench-sub-${randomId()}`, clean: true })
const pub = await mqtt.connectAsync(URL, { clientId: `bench-pub-${randomId()}`, clean: true })
await sub.subscribeAsync(rawTopic, { qos: 1 })
const rawBatches = Math.ceil(N / BATCH)
let received = 0
const allIn = new Promise<void>((resolve) =>
  sub.on('message', () => {
    if (++received === rawBatches) resolve()
  }),
)
const r0 = performance.now()
await Promise.all(Array.from({ length: rawBatches }, () => pub.publishAsync(rawTopic, payload, { qos: 1 })))
await allIn
const rawMs = performance.now() - r0
await sub.endAsync()
await pub.endAsync()
await clearSession(URL, world.deviceId)
await vault.close()
await rm(dir, { recursive: true, force: true })

const cpus = os.cpus()
console.log(`sync: reconnect with ${N.toLocaleString('en')} pending payments → all acked, loopback Mosquitto`)
console.log(
  `machine: ${cpus[0]?.model ?? '?'} ×${cpus.length}, Node ${process.version}, load ${os.loadavg()[0]!.toFixed(2)}`,
)
console.log(
  `  batches of ${BATCH}, window ${WINDOW}: ${batches} published, ${(bytes / 1e6).toFixed(2)} MB sealed`,
)
console.log(`  reconnect → all acked and marked synced (goal ≤ 5 s)   ${(syncMs / 1000).toFixed(2)} s`)
console.log(
  `  baseline: raw QoS 1 publish of ${rawBatches} same-size batches  ${(rawMs / 1000).toFixed(2)} s`,
)
console.log(`  ratio: ${(syncMs / rawMs).toFixed(1)}× (bridge decrypt + acks + vault fdatasync of the acks)`)
