/**
 * The assembled node: bridge commands over real MQTT (revocation list, trusted time, invoice-paid notice,
 * config override, forged commands ignored) and a BLE payment through the simulated GATT binding.
 */
import {
  decodeInner,
  decodeNodeCertificate,
  decodeReceipt,
  deriveKey,
  encodeInner,
  formatPaidSms,
  id8ToBytes,
  keyId,
  toHex,
  uuidv7,
  verifyReceipt,
  walletFinish,
  walletHello,
} from '@opg/protocol'
import t from 'tap'
import { SimBleBinding } from '../src/bindings/ble/index.js'
import { SimModem } from '../src/bindings/modem/index.js'
import { MemoryClockStore, TrustedClock } from '../src/clock/index.js'
import { parseConfig } from '../src/config/index.js'
import { OpgNode } from '../src/node/opg-node.js'
import { MemoryVault } from '../src/vault/memory-vault.js'
import { c, MERCHANT, makeWorld, NOW_MS, qrFor, randomId, TENANT, TestWallet } from './accept/fixtures.js'
import { aedesBroker, FakeBridge, freePort, waitFor } from './sync/harness.js'

async function makeNode(t: { teardown(fn: () => unknown): void }, withBle = false) {
  const world = makeWorld(randomId())
  const broker = aedesBroker(await freePort())
  const url = `mqtt://127.0.0.1:${broker.port}`
  await broker.up()
  const { config } = parseConfig({
    tenantId: TENANT,
    merchantId: MERCHANT,
    deviceId: world.deviceId,
    keys: { deviceSecretFile: 'x', signingKeyFile: 'x', encryptionKeyFile: 'x', nodeCertificateFile: 'x' },
    issuerKeys: { [keyId(c, world.issuer.publicKey)]: toHex(world.issuer.publicKey) },
    mqtt: { url },
    sync: { reconnectMinMs: 50, reconnectMaxMs: 200 },
  })
  const vault = new MemoryVault()
  const clock = new TrustedClock({
    store: new MemoryClockStore(),
    systemTime: () => NOW_MS,
    persistEveryMs: 0,
  })
  await clock.start()
  const state = {
    data: { version: 1 } as Record<string, unknown>,
    writes: 0,
    write: async () => void state.writes++,
  }
  const signals: string[] = []
  const ble = withBle ? new SimBleBinding({ deviceTag: world.deviceId.slice(0, 8) }) : undefined
  const modem = new SimModem()
  const node = new OpgNode({
    config,
    identity: {
      cert: decodeNodeCertificate(world.nodeCertBytes),
      issuerKeys: world.issuerKeys,
      signing: world.nodeSigning,
      encryption: world.nodeEncryption,
      deviceSecret: world.deviceSecret,
    },
    c,
    vault,
    clock,
    state,
    signal: {
      accepted: ({ amount }) => void signals.push(`ok ${amount}`),
      rejected: ({ code }) => void signals.push(code),
    },
    ...(ble ? { ble } : {}),
    modem,
  })
  const bridge = new FakeBridge(url)
  bridge.addDevice(world.deviceId, world.deviceSecret)
  await bridge.start()
  await node.start()
  await waitFor(() => node.sync.online, 5_000, 'the node online')
  t.teardown(async () => {
    await node.stop()
    await bridge.stop()
    await broker.down()
  })
  return { world, node, vault, clock, state, bridge, signals, ble, modem }
}

/** Commands as the bridge numbers them: each one's seq above the last (SPEC.md §8.1). */
let lastSeq = 0
const cmd = <T extends object>(o: T) => ({ v: 1 as const, id: uuidv7(c), seq: ++lastSeq, ...o })

t.test('a revocation list from the bridge stops that wallet; older lists are ignored', async (t) => {
  const { world, node, state, bridge } = await makeNode(t)
  const w = new TestWallet(world)
  t.ok((await node.accept({ qrText: qrFor(world, w.token(100)) })).ok)
  await bridge.sendCommand(
    TENANT,
    world.deviceId,
    cmd({ type: 'revocations', version: 3, wallets: [w.cert.walletId] }),
  )
  await waitFor(() => node.view.revocationVersion === 3, 5_000, 'the list to arrive')
  t.match(await node.accept({ qrText: qrFor(world, w.token(100)) }), { ok: false, code: 'revoked' })
  t.same(state.data.revocations, { version: 3, wallets: [w.cert.walletId] }, 'persisted for the next start')

  await bridge.sendCommand(TENANT, world.deviceId, cmd({ type: 'revocations', version: 2, wallets: [] }))
  await bridge.sendCommand(TENANT, world.deviceId, cmd({ type: 'sync_now' }))
  await new Promise((r) => setTimeout(r, 200))
  t.equal(node.view.isRevoked(w.cert.walletId), true, 'a stale list does not un-revoke')
})

t.test('trusted time, invoice-paid notices and config overrides', async (t) => {
  const { world, node, vault, clock, state, bridge, signals } = await makeNode(t)
  t.equal(clock.source, 'unsynced')
  const later = NOW_MS + 3_600_000
  await bridge.sendCommand(TENANT, world.deviceId, cmd({ type: 'time', now: later }))
  await waitFor(() => clock.source === 'trusted', 5_000, 'trusted time')
  t.ok(clock.now() >= later)

  await bridge.sendCommand(
    TENANT,
    world.deviceId,
    cmd({ type: 'invoice_paid', ref: 'INV-42', amount: 990, currency: 'EUR', counter: 1 }),
  )
  await waitFor(() => vault.hasNotice('INV-42'), 5_000, 'the notice')
  t.match(node.report().confirmations.recent, [{ ref: 'INV-42', amount: 990, via: 'mqtt' }])
  t.same(signals, [], 'payment signals are for payments only')

  await bridge.sendCommand(
    TENANT,
    world.deviceId,
    cmd({ type: 'config', config: { exposure: { maxUnsyncedTotal: 1 } } }),
  )
  await waitFor(() => state.data.configOverrides !== undefined, 5_000, 'the override')
  t.same(state.data.configOverrides, { exposure: { maxUnsyncedTotal: 1 } })
  // A second override of another field of the same section keeps the first.
  await bridge.sendCommand(
    TENANT,
    world.deviceId,
    cmd({ type: 'config', config: { exposure: { maxPerWalletPerDay: 7 }, log: { level: 'debug' } } }),
  )
  await waitFor(
    () => (state.data.configOverrides as Record<string, unknown> | undefined)?.log !== undefined,
    5_000,
    'the second override',
  )
  t.same(state.data.configOverrides, {
    exposure: { maxUnsyncedTotal: 1, maxPerWalletPerDay: 7 },
    log: { level: 'debug' },
  })
  t.match(node.report(), {
    online: true,
    clock: { source: 'trusted' },
    configOverride: { exposure: { maxUnsyncedTotal: 1, maxPerWalletPerDay: 7 } },
  })
})

t.test('a command sealed with another key is ignored', async (t) => {
  const { world, node, bridge } = await makeNode(t)
  let warned = 0
  node.sync.on('warning', () => warned++)
  await bridge.sendCommand(
    TENANT,
    world.deviceId,
    cmd({ type: 'revocations', version: 9, wallets: [randomId()] }),
    c.randomBytes(16),
  )
  await waitFor(() => warned > 0, 5_000, 'a warning')
  t.equal(node.view.revocationVersion, -1)
})

t.test('a BLE payment: handshake, token bound to the challenge, signed receipt', async (t) => {
  const { world, node, ble, bridge } = await makeNode(t, true)
  const w = new TestWallet(world)
  const central = ble!.connect()
  central.start()
  const hs = walletHello(c)
  central.send(hs.message)
  const next = async () => {
    let m: Uint8Array | undefined
    await waitFor(
      () => {
        m = central.takeMessage()
        return m !== undefined
      },
      5_000,
      'a message from the box',
    )
    return m!
  }
  const { cipher, challenge } = walletFinish(c, hs, await next(), {
    issuerKeys: world.issuerKeys,
    deviceId: world.deviceId,
  })
  const token = w.token(450, { challenge })
  central.send(cipher.seal(encodeInner({ kind: 'token', token: token.bytes })))
  const reply = decodeInner(cipher.open(await next()))
  t.equal(reply.kind, 'receipt')
  if (reply.kind === 'receipt') {
    t.doesNotThrow(() => verifyReceipt(c, decodeReceipt(reply.receipt), world.nodeSigning.publicKey, token))
  }
  await node.syncNow(5_000)
  t.ok(bridge.booked.has(token.txId), 'and it syncs like any other')
})

t.test('an OPG1 PAID SMS is authenticated, journaled, signalled once', async (t) => {
  const { world, vault, modem, node } = await makeNode(t)
  const smsKey = deriveKey(c, world.deviceSecret, 'sms', id8ToBytes(world.deviceId))
  const sms = formatPaidSms(c, smsKey, world.deviceId, {
    ref: 'INV-7',
    amount: 1_500,
    currency: 'EUR',
    counter: 5,
  })
  modem.emitSms('+4915112345678', `${sms}\r\n`)
  await waitFor(() => vault.hasNotice('INV-7'), 5_000, 'the notice')

  modem.emitSms('+4915112345678', sms) // the same SMS again: replay
  const forged = formatPaidSms(c, c.randomBytes(16), world.deviceId, {
    ref: 'INV-8',
    amount: 99_999,
    currency: 'EUR',
    counter: 6,
  })
  modem.emitSms('+4915100000000', forged)
  const reused = formatPaidSms(c, smsKey, world.deviceId, {
    ref: 'INV-9',
    amount: 100,
    currency: 'EUR',
    counter: 5,
  })
  modem.emitSms('+4915112345678', reused)
  await waitFor(() => node.report().confirmations.refused === 3, 5_000, 'three refusals')
  t.same(
    vault.notices().map((n) => n.ref),
    ['INV-7'],
    'replayed, forged and counter-reusing SMS are refused',
  )
  t.equal(node.report().confirmations.refused, 3)
})

t.test('a payment the bridge refuses stays on the box, listed as refused with its code', async (t) => {
  const { world, node, bridge } = await makeNode(t)
  bridge.acking = false
  const w = new TestWallet(world)
  const ok = await node.accept({ qrText: qrFor(world, w.token(900)) })
  const kept = await node.accept({ qrText: qrFor(world, w.token(300)) })
  if (!ok.ok || !kept.ok) throw new Error('payments not accepted')
  await waitFor(() => bridge.deliveries.size === 2, 5_000, 'the batch')
  await bridge.sendAck(
    TENANT,
    world.deviceId,
    uuidv7(c),
    [kept.receipt.txId],
    [{ tx: ok.receipt.txId, code: 'replay' }],
  )
  await waitFor(() => node.report().pendingCount === 0, 5_000, 'the ack')
  const r = node.report()
  t.equal(r.payments, 2, 'nothing deleted')
  t.equal(r.refused.count, 1)
  t.match(r.refused.recent[0], { txId: ok.receipt.txId, code: 'replay', amount: 900, currency: 'EUR' })
  t.same(r.storage.alerts, [])
})
