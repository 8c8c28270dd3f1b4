/** Builds an Acceptor over a MemoryVault with test keys; records what the merchant would see. */
import { Acceptor } from '../../src/accept/acceptor.js'
import { type ExposurePolicy, VaultView } from '../../src/accept/ledger.js'
import { protocolVerifier } from '../../src/accept/protocol-verifier.js'
import { MemoryVault } from '../../src/vault/memory-vault.js'
import type { Vault } from '../../src/vault/types.js'
import { c, FixedClock, MERCHANT, makeWorld, type TestWorld } from './fixtures.js'
import { GatedVault } from './gated-vault.js'

export interface Rig<V extends Vault = Vault> {
  world: TestWorld
  vault: V
  view: VaultView
  clock: FixedClock
  acceptor: Acceptor
  /** Signals in order, each noting how many payments were durable at that moment. */
  signals: { kind: 'accepted' | 'rejected'; detail: string; durable: number }[]
}

/** A rig over the vault package's MemoryVault. */
export function makeRig(policy: Partial<ExposurePolicy> = {}, world: TestWorld = makeWorld()): Rig {
  return rigOver(new MemoryVault(), policy, world)
}

/** A rig over a GatedVault, whose writes a test can hold or fail. */
export function makeGatedRig(policy: Partial<ExposurePolicy> = {}): Rig<GatedVault> {
  return rigOver(new GatedVault(), policy, makeWorld())
}

function rigOver<V extends Vault>(vault: V, policy: Partial<ExposurePolicy>, world: TestWorld): Rig<V> {
  const durable = () => (vault instanceof GatedVault ? vault.durableLog.length : -1)
  const view = new VaultView(vault)
  const clock = new FixedClock()
  const signals: Rig['signals'] = []
  const acceptor = new Acceptor({
    verifier: protocolVerifier({
      c,
      issuerKeys: world.issuerKeys,
      merchantId: MERCHANT,
      deviceId: world.deviceId,
      encryption: world.nodeEncryption,
      signingSecret: world.nodeSigning.secretKey,
    }),
    vault,
    view,
    clock,
    policy: { maxUnsyncedTotal: 1_000_000, maxPerWalletPerDay: 1_000_000, currency: 'EUR', ...policy },
    signal: {
      accepted: ({ txId }) => {
        signals.push({ kind: 'accepted', detail: txId, durable: durable() })
      },
      rejected: ({ code }) => {
        signals.push({ kind: 'rejected', detail: code, durable: durable() })
      },
    },
  })
  return { world, vault, view, clock, acceptor, signals }
}
