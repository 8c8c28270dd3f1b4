/**
 * Real wiring of a box from its config: check the identity, open the file vault and the encrypted state
 * store under keys derived from the device secret, start the trusted clock, read TLS files, pick simulated
 * or real hardware. `openNode` returns a node that is not started yet, and a `close` for what it opened.
 */
import { readFile, statfs } from 'node:fs/promises'
import { join } from 'node:path'
import { type CryptoBackend, deriveKey, id8ToBytes } from '@opg/protocol'
import { nodeBackend } from '@opg/protocol/node'
import type { SignalPort } from '../accept/ports.js'
import type { BleBinding } from '../bindings/ble/index.js'
import type { Gpio } from '../bindings/gpio/index.js'
import type { Modem } from '../bindings/modem/index.js'
import { stateClockStore, TrustedClock } from '../clock/index.js'
import { ConfigSchema, type NodeConfig } from '../config/schema.js'
import type { NodeSecrets } from '../config/secrets.js'
import { FileVault } from '../vault/file-vault.js'
import { checkIdentity } from './identity.js'
import { acquireLock } from './lock.js'
import { type Logger, type NodeStateDb, OpgNode } from './opg-node.js'
import { openStateOrRebuild, type StorageHealth, storageHealth } from './storage-health.js'

export interface OpenNodeOptions {
  c?: CryptoBackend
  log?: Logger
  /** What the merchant sees and hears (GPIO LEDs and buzzer on a box, a log line in simulation). */
  signal?: SignalPort
  ble?: BleBinding
  modem?: Modem
  gpio?: Gpio
  version?: string
  /** The box's own clock, consulted only until the bridge sends trusted time (tests skew it). */
  systemTime?: () => number
}

export interface OpenedNode {
  node: OpgNode
  config: NodeConfig
  /** Stop the node if started, then close clock, vault and state. */
  close(): Promise<void>
}

/** Sections of the config the bridge may override with a `config` command (identity and keys never). */
const OVERRIDABLE = ['exposure', 'sync', 'log'] as const

/** Open a node's storage and build the node. Throws ConfigError for mismatched keys, VaultError for storage. */
export async function openNode(
  config: NodeConfig,
  secrets: NodeSecrets,
  o: OpenNodeOptions = {},
): Promise<OpenedNode> {
  const c = o.c ?? nodeBackend
  const identity = checkIdentity(c, config, secrets)
  const vaultKey = deriveKey(c, identity.deviceSecret, 'vault', id8ToBytes(config.deviceId))
  // The journal must never have two writers (a node and a CLI fallback, or two nodes).
  const lock = await acquireLock(config.dataDir)
  let vault: FileVault
  let state: NonNullable<Awaited<ReturnType<typeof openStateOrRebuild>>['state']>
  let health: StorageHealth
  try {
    // Damage never stops the box: the vault quarantines and reports it, a bad state file is rebuilt.
    vault = await FileVault.open({ dir: join(config.dataDir, 'vault'), key: vaultKey })
    try {
      const opened = await openStateOrRebuild({
        dir: config.dataDir,
        key: deriveKey(c, identity.deviceSecret, 'state', id8ToBytes(config.deviceId)),
      })
      state = opened.state!
      health = storageHealth(vault.damage, vault.tornBytes, opened.rebuilt)
      for (const alert of health.alerts)
        o.log?.error({ alert }, 'STORAGE DAMAGE: recovered, operator action needed')
    } catch (err) {
      await vault.close()
      throw err
    }
  } catch (err) {
    await lock.release()
    throw err
  }
  const effective = applyOverrides(config, state.data.configOverrides, o.log)
  const clock = new TrustedClock({
    store: stateClockStore(state),
    floor: () => vault.stats().lastAcceptedAt,
    ...(o.systemTime ? { systemTime: o.systemTime } : {}),
  })
  await clock.start()
  const node = new OpgNode({
    config: effective,
    identity,
    c,
    vault,
    clock,
    state: state as unknown as NodeStateDb,
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.ble ? { ble: o.ble } : {}),
    ...(o.modem ? { modem: o.modem } : {}),
    ...(o.gpio ? { gpio: o.gpio } : {}),
    ...(o.log ? { log: o.log } : {}),
    ...(o.version ? { version: o.version } : {}),
    tls: await readTls(config),
    statusExtras: async () => ({ storageBytes: await freeBytes(config.dataDir) }),
    storage: () => health,
  })
  return {
    node,
    config: effective,
    async close() {
      await node.stop()
      await clock.stop().catch(() => {})
      await vault.close()
      await lock.release()
    },
  }
}

async function readTls(
  config: NodeConfig,
): Promise<{ ca?: Uint8Array; cert?: Uint8Array; key?: Uint8Array }> {
  const tls: { ca?: Uint8Array; cert?: Uint8Array; key?: Uint8Array } = {}
  if (config.mqtt.caFile) tls.ca = await readFile(config.mqtt.caFile)
  if (config.mqtt.certFile) tls.cert = await readFile(config.mqtt.certFile)
  if (config.mqtt.keyFile) tls.key = await readFile(config.mqtt.keyFile)
  return tls
}

async function freeBytes(dir: string): Promise<number> {
  try {
    const s = await statfs(dir)
    return s.bavail * s.bsize
  } catch {
    return 0
  }
}

/** Merge bridge overrides into the overridable sections; an override that fails validation is ignored. */
export function applyOverrides(config: NodeConfig, overrides: unknown, log?: Logger): NodeConfig {
  if (typeof overrides !== 'object' || overrides === null) return config
  const merged: Record<string, unknown> = structuredClone(config)
  for (const key of OVERRIDABLE) {
    const patch = (overrides as Record<string, unknown>)[key]
    if (typeof patch === 'object' && patch !== null) {
      merged[key] = { ...(merged[key] as object), ...(patch as object) }
    }
  }
  const parsed = ConfigSchema.safeParse(merged)
  if (parsed.success) return parsed.data
  log?.warn({ problems: parsed.error.issues.map((i) => i.message) }, 'bridge config override ignored')
  return config
}
