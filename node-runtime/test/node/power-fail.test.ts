/**
 * The power-fail input (a supercapacitor or UPS HAT's line), driven through the simulated GPIO layer: on its
 * edge the node refuses new payments with a typed code, lets the one in flight finish, flushes the vault's
 * high-water mark and the state file, reports the event, and every payment it confirmed is on the journal.
 */

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeNodeCertificate, keyId, openMqtt, StatusSchema, toHex } from '@opg/protocol'
import t from 'tap'
import { SimGpio } from '../../src/bindings/gpio/index.js'
import { MemoryClockStore, TrustedClock } from '../../src/clock/index.js'
import { parseConfig } from '../../src/config/index.js'
import { OpgNode } from '../../src/node/opg-node.js'
import { protocolCodec } from '../../src/sync/codec.js'
import { nodeTopics } from '../../src/sync/topics.js'
import { FileVault } from '../../src/vault/index.js'
import { c, MERCHANT, makeWorld, NOW_MS, qrFor, randomId, TENANT, TestWallet } from '../accept/fixtures.js'

const KEY = new Uint8Array(16).fill(3)

t.test('config: the power-fail pin is optional and active low by default', async (t) => {
  const world = makeWorld(randomId())
  const base = {
    tenantId: TENANT,
    merchantId: MERCHANT,
    deviceId: world.deviceId,
    keys: { deviceSecretFile: 'x', signingKeyFile: 'x', encryptionKeyFile: 'x', nodeCertificateFile: 'x' },
    issuerKeys: { [keyId(c, world.issuer.publicKey)]: toHex(world.issuer.publicKey) },
    mqtt: { url: 'mqtt://127.0.0.1:1' },
  }
  t.equal(parseConfig(base).config.hardware.pins.powerFail, undefined)
  const { config } = parseConfig({ ...base, hardware: { pins: { powerFail: 26 } } })
  t.equal(config.hardware.pins.powerFail, 26)
  t.equal(config.hardware.powerFailActiveLow, true)
  t.throws(() => parseConfig({ ...base, hardware: { pins: { powerFail: 99 } } }))
})

t.test('on the power-fail edge the node refuses new payments, flushes and reports', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'opg-powerfail-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  const world = makeWorld(randomId())
  const { config } = parseConfig({
    tenantId: TENANT,
    merchantId: MERCHANT,
    deviceId: world.deviceId,
    keys: { deviceSecretFile: 'x', signingKeyFile: 'x', encryptionKeyFile: 'x', nodeCertificateFile: 'x' },
    issuerKeys: { [keyId(c, world.issuer.publicKey)]: toHex(world.issuer.publicKey) },
    // No broker: the box is offline, as it may well be when the power goes.
    mqtt: { url: 'mqtt://127.0.0.1:1' },
    sync: { reconnectMinMs: 50, reconnectMaxMs: 200 },
  })
  const dir = join(root, 'vault')
  const vault = await FileVault.open({ dir, key: KEY })
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
  const gpio = new SimGpio()
  await gpio.start()
  const signals: string[] = []
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
    gpio,
    signal: {
      accepted: ({ amount }) => void signals.push(`ok ${amount}`),
      rejected: ({ code }) => void signals.push(code),
    },
  })
  await node.start()
  const w = new TestWallet(world)
  t.ok((await node.accept({ qrText: qrFor(world, w.token(100)) })).ok)
  t.equal(node.report().powerFail, undefined)

  // A payment is being accepted when the line goes active: it finishes; the next one is refused.
  const inFlight = node.accept({ qrText: qrFor(world, w.token(200)) })
  const writesBefore = state.writes
  gpio.setPowerFail(true)
  const refused = await node.accept({ qrText: qrFor(world, w.token(300)) })
  t.match(refused, { ok: false, code: 'power_failing' }, 'a typed refusal to the payer')
  t.ok((await inFlight).ok, 'the payment already being accepted completes')
  await node.powerFail()
  const report = node.report().powerFail
  t.ok(report, 'the event is reported')
  t.ok(report?.flushedAt !== undefined && report.flushedAt >= report.at, 'and the flush finished')
  t.equal(report?.error, undefined)
  t.ok(state.writes > writesBefore, 'the state file was written')
  t.same([...signals].sort(), ['ok 100', 'ok 200', 'power_failing'])
  // A bouncing line does not start a second flush; payments stay refused.
  gpio.setPowerFail(false)
  gpio.setPowerFail(true)
  t.match(await node.accept({ qrText: qrFor(world, w.token(400)) }), { code: 'power_failing' })
  await node.stop()
  await gpio.stop()
  await vault.close()

  // What the box confirmed is what the journal holds after the power is gone.
  const after = await FileVault.open({ dir, key: KEY })
  t.same(
    [...after.payments()].map((p) => p.amount).sort((a, b) => a - b),
    [100, 200],
  )
  t.same(after.damage, [])
  await after.close()
})

t.test('status carries storage health as optional fields the bridge can read', async (t) => {
  const key = new Uint8Array(16).fill(4)
  const topics = nodeTopics(TENANT, '00000000000000bb')
  const codec = protocolCodec(c, key, topics)
  const base = { pendingCount: 0, pendingAmount: {}, storageBytes: 1, version: '1', at: NOW_MS }
  const plain = openMqtt(c, key, topics.status, StatusSchema, codec.sealStatus(base))
  t.equal('storage' in plain, false, 'absent when all is well')
  const storage = { quarantined: 2, lostRecords: 1, freeLow: true, powerFailAt: NOW_MS }
  const hurt = openMqtt(c, key, topics.status, StatusSchema, codec.sealStatus({ ...base, storage }))
  t.match(hurt, { online: true, storage })
})
