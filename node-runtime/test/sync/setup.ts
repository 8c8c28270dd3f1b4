/** A node's acceptance rig plus its sync engine, wired as the node wires them. */

import { protocolCodec } from '../../src/sync/codec.js'
import { SyncEngine, type SyncOptions } from '../../src/sync/sync-engine.js'
import { nodeTopics } from '../../src/sync/topics.js'
import { c, makeWorld, qrFor, randomId, TENANT, TestWallet } from '../accept/fixtures.js'
import { makeRig, type Rig } from '../accept/setup.js'
import { deviceKey } from './harness.js'

export interface SyncRig extends Rig {
  engine: SyncEngine
}

export function makeSyncRig(url: string, o: Partial<SyncOptions> = {}): SyncRig {
  const rig = makeRig({}, makeWorld(randomId()))
  const deviceId = rig.world.deviceId
  const engine = new SyncEngine({
    url,
    tenantId: TENANT,
    deviceId,
    vault: rig.vault,
    codec: protocolCodec(c, deviceKey(rig.world.deviceSecret, deviceId), nodeTopics(TENANT, deviceId)),
    reconnectMinMs: 50,
    reconnectMaxMs: 400,
    ackTimeoutMs: 5_000,
    statusIntervalMs: 60_000,
    ...o,
  })
  return { ...rig, engine }
}

/** Accept `n` payments from `wallets` fresh wallets; returns their tx ids. */
export async function pay(rig: Rig, n: number, amount = 100): Promise<string[]> {
  const wallets = Array.from(
    { length: Math.ceil(n / 100) },
    () => new TestWallet(rig.world, { purseAmount: 1e6 }),
  )
  const ids: string[] = []
  for (let i = 0; i < n; i++) {
    const out = await rig.acceptor.accept({
      qrText: qrFor(rig.world, wallets[i % wallets.length]!.token(amount)),
    })
    if (!out.ok) throw new Error(`payment ${i} refused: ${out.code}`)
    ids.push(out.receipt.txId)
  }
  return ids
}
