/**
 * Bridge commands at the box (protocol SPEC.md §8.1), over real MQTT (aedes): a box whose own clock runs two
 * minutes behind accepts a purse that expired 5 s ago until the bridge's time arrives, then refuses it and says
 * so in its status; a command whose seq is not above the last of its type is refused, also after a restart
 * (the marks live in the encrypted state). Fixed instants only: the box's clock is injected.
 */
import { decodeNodeCertificate, keyId, toHex, uuidv7 } from '@opg/protocol'
import t from 'tap'
import { MemoryClockStore, TrustedClock } from '../src/clock/index.js'
import { parseConfig } from '../src/config/index.js'
import { OpgNode } from '../src/node/opg-node.js'
import { MemoryVault } from '../src/vault/memory-vault.js'
import { c, MERCHANT, makeWorld, NOW_MS, qrFor, randomId, TENANT, TestWallet } from './accept/fixtures.js'
import { aedesBroker, FakeBridge, freePort, waitFor } from './sync/harness.js'

const BEHIND_MS = 2 * 60_000

async function rig(t: { teardown(fn: () => unknown): void }) {
  const world = makeWorld(randomId())
  const broker = aedesBroker(await freePort())
  await broker.up()
  const bridge = new FakeBridge(`mqtt://127.0.0.1:${broker.port}`)
  bridge.addDevice(world.deviceId, world.deviceSecret)
  await bridge.start()
  const { config } = parseConfig({
    tenantId: TENANT,
    merchantId: MERCHANT,
    deviceId: world.deviceId,
    keys: { deviceSecretFile: 'x', signingKeyFile: 'x', encryptionKeyFile: 'x', nodeCertificateFile: 'x' },
    issuerKeys: { [keyId(c, world.issuer.publicKey)]: toHex(world.issuer.publicKey) },
    mqtt: { url: `mqtt://127.0.0.1:${broker.port}` },
    sync: { reconnectMinMs: 50, reconnectMaxMs: 200 },
  })
  const vault = new MemoryVault()
  const clockStore = new MemoryClockStore()
  const state = { data: { version: 1 } as Record<string, unknown>, write: async () => {} }
  const nodes: OpgNode[] = []
  /** Start a node on the same vault, state and clock store (a restart). */
  const boot = async () => {
    const clock = new TrustedClock({
      store: clockStore,
      systemTime: () => NOW_MS - BEHIND_MS,
      persistEveryMs: 0,
    })
    await clock.start()
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
    })
    nodes.push(node)
    await node.start()
    await waitFor(() => node.sync.online, 5_000, 'the node online')
    return { node, clock }
  }
  t.teardown(async () => {
    for (const n of nodes) await n.stop()
    await bridge.stop()
    await broker.down()
  })
  return { world, bridge, state, boot }
}

const cmd = <T extends object>(seq: number, o: T) => ({ v: 1 as const, id: uuidv7(c), seq, ...o })

t.test('a box two minutes behind refuses an expired purse once the bridge’s time arrives', async (t) => {
  const { world, bridge, boot } = await rig(t)
  const { node, clock } = await boot()
  const expired = new TestWallet(world, { expiresAt: Math.floor((NOW_MS - 5_000) / 1000) })
  t.equal(clock.source, 'unsynced')
  t.ok(
    (await node.accept({ qrText: qrFor(world, expired.token(100)) })).ok,
    'the unset clock is why it was accepted: the box believes it is two minutes earlier',
  )
  await bridge.sendCommand(TENANT, world.deviceId, cmd(1, { type: 'time', now: NOW_MS }))
  await waitFor(() => clock.source === 'trusted', 5_000, 'trusted time')
  t.match(await node.accept({ qrText: qrFor(world, expired.token(100)) }), { ok: false, code: 'expired' })
  t.match(node.report().clock, { source: 'trusted' })
  await waitFor(
    () => bridge.statuses.some((s) => s !== 'offline' && s.online && s.clock === 'trusted'),
    5_000,
    'a status saying the clock is trusted',
  )
  t.pass('the status the bridge reads says trusted')
})

t.test('replayed and older commands are refused, also after a restart', async (t) => {
  const { world, bridge, state, boot } = await rig(t)
  const first = await boot()
  const w = new TestWallet(world)
  const later = NOW_MS + 3_600_000
  await bridge.sendCommand(TENANT, world.deviceId, cmd(10, { type: 'time', now: later }))
  await bridge.sendCommand(
    TENANT,
    world.deviceId,
    cmd(11, { type: 'revocations', version: 4, wallets: [w.cert.walletId] }),
  )
  await waitFor(() => first.node.view.revocationVersion === 4, 5_000, 'the list')
  await first.node.commandsSettled()
  t.same(state.data.commandMarks, { time: 10, revocations: 11 }, 'marks in the encrypted state')

  // Same seq again, and an older one (a recording from before): neither is applied.
  await bridge.sendCommand(TENANT, world.deviceId, cmd(10, { type: 'time', now: NOW_MS }))
  await bridge.sendCommand(TENANT, world.deviceId, cmd(9, { type: 'revocations', version: 5, wallets: [] }))
  await waitFor(() => first.node.report().commandsRefused === 2, 5_000, 'two refusals')
  t.ok(first.clock.now() >= later, 'the clock was not rolled back')
  t.ok(first.node.view.isRevoked(w.cert.walletId), 'not un-revoked')

  await first.node.stop()
  const second = await boot()
  t.equal(second.node.view.revocationVersion, 4, 'the list survives the restart')
  await bridge.sendCommand(TENANT, world.deviceId, cmd(10, { type: 'time', now: NOW_MS }))
  await bridge.sendCommand(TENANT, world.deviceId, cmd(11, { type: 'revocations', version: 4, wallets: [] }))
  await waitFor(() => second.node.report().commandsRefused === 2, 5_000, 'refused after the restart too')
  t.ok(second.clock.now() >= later, 'still not rolled back')
  t.match(await second.node.accept({ qrText: qrFor(world, w.token(100)) }), { ok: false, code: 'revoked' })

  await bridge.sendCommand(TENANT, world.deviceId, cmd(12, { type: 'revocations', version: 5, wallets: [] }))
  await waitFor(() => second.node.view.revocationVersion === 5, 5_000, 'a newer list is applied')
  t.ok((await second.node.accept({ qrText: qrFor(world, w.token(100)) })).ok, 'and the wallet pays again')
})
