/**
 * The bridge's config-override schema (protocol) and the box's config schema agree: every override the bridge
 * accepts, applied to a provisioned config, either changes exactly what it names or — only for sync limits that
 * contradict each other (reconnectMinMs > reconnectMaxMs) — is ignored as a whole, never half-applied. And a
 * patch the bridge refuses (an identity or key field) is refused before it is sealed.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigOverrideSchema, mergeConfigOverride } from '@opg/protocol'
import fc from 'fast-check'
import t from 'tap'
import { loadConfigFile } from '../src/config/index.js'
import { applyOverrides } from '../src/node/open-node.js'
import { makeWorld, randomId } from './accept/fixtures.js'
import { provisionBox } from './sync/provision.js'

const ms = fc.integer({ min: 1, max: 86_400_000 })
const override = fc.record(
  {
    exposure: fc.record({ maxUnsyncedTotal: fc.nat(), maxPerWalletPerDay: fc.nat() }, { requiredKeys: [] }),
    sync: fc.record(
      {
        batchSize: fc.integer({ min: 1, max: 1000 }),
        window: fc.integer({ min: 1, max: 64 }),
        ackTimeoutMs: ms,
        resendMaxMs: ms,
        statusIntervalMs: ms,
        reconnectMinMs: ms,
        reconnectMaxMs: ms,
      },
      { requiredKeys: [] },
    ),
    log: fc.record(
      { level: fc.constantFrom('fatal', 'error', 'warn', 'info', 'debug', 'trace') },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
)

t.test('every override the bridge accepts is applied whole by the box, or ignored whole', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'opg-override-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const box = await provisionBox(dir, makeWorld(randomId()))
  const { config } = await loadConfigFile(box.configPath, {})
  let applied = 0
  fc.assert(
    fc.property(override, override, (first, second) => {
      const patches = [first, second].filter((p) => ConfigOverrideSchema.safeParse(p).success)
      const stored = patches.reduce<Record<string, unknown> | undefined>(
        (s, p) => mergeConfigOverride(s, p),
        undefined,
      )
      if (!stored) return true
      const out = applyOverrides(config, stored)
      const want = stored as Record<string, Record<string, unknown>>
      const sync = { ...config.sync, ...(want.sync ?? {}) } as typeof config.sync
      if (sync.reconnectMinMs > sync.reconnectMaxMs) return out === config
      applied++
      for (const [section, fields] of Object.entries(want)) {
        for (const [k, v] of Object.entries(fields)) {
          if ((out as unknown as Record<string, Record<string, unknown>>)[section]?.[k] !== v) return false
        }
      }
      return out.deviceId === config.deviceId && out.mqtt.url === config.mqtt.url
    }),
    { numRuns: 300 },
  )
  t.ok(applied > 100, `${applied} overrides applied`)
})

t.test(
  'the bridge refuses patches that touch identity, keys, broker or hardware, and empty ones',
  async (t) => {
    for (const bad of [
      { deviceId: '0000000000000000' },
      { mqtt: { url: 'mqtt://evil:1883' } },
      { hardware: { mode: 'sim' } },
      { exposure: { maxUnsyncedTotal: -1 } },
      { exposure: { other: 1 } },
      { log: { level: 'loud' } },
      {},
      { exposure: {} },
    ]) {
      t.notOk(ConfigOverrideSchema.safeParse(bad).success, JSON.stringify(bad))
    }
    t.ok(
      ConfigOverrideSchema.safeParse({ exposure: { maxUnsyncedTotal: 0 } }).success,
      'a zero limit is a limit',
    )
  },
)
