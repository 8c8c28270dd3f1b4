/**
 * Test support: a real bridge in this process — PGlite in memory, the embedded MQTT broker on a free port, a
 * tenant with its operator key and issuer key — as the local stack starts it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Bridge, createLogger, createTenant, loadConfig, loadMasterKey } from '@opg/cloud-bridge'
import { nodeBackend as c } from '@opg/protocol/node'
import type { Test } from 'tap'
// The issuer bootstrap is what `opg-bridge tenant create` runs; it is not on the bridge's package surface.
import { initIssuer } from '../../cloud-bridge/src/issuer/index.js'

/** A running bridge with one tenant. */
export interface TestBridge {
  bridge: Bridge
  httpUrl: string
  mqttUrl: string
  tenantId: string
  operatorKey: string
  /** A scratch folder removed at teardown. */
  dir: string
}

/** Start a bridge for the test `t`; stopped and cleaned up at its teardown. */
export async function startBridge(t: Test): Promise<TestBridge> {
  const dir = mkdtempSync(join(tmpdir(), 'opg-provision-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const keyFile = join(dir, 'master.key')
  writeFileSync(keyFile, Buffer.from(c.randomBytes(16)).toString('hex'), { mode: 0o600 })
  const config = loadConfig({
    env: {
      DATABASE_URL: 'memory:',
      OPG_MASTER_KEY_FILE: keyFile,
      OPG_MODE: 'test',
      OPG_HTTP_PORT: '0',
      OPG_MQTT_EMBEDDED_PORT: '0',
      OPG_VERIFY_WORKERS: '0',
      OPG_LOG_LEVEL: 'silent',
    },
  })
  const bridge = new Bridge({ config, logger: createLogger('silent') })
  const { httpUrl, mqttUrl } = await bridge.start()
  t.teardown(() => bridge.stop())
  const { tenant, operatorKey } = await createTenant(bridge.db, 'Provisioning test', 'EUR')
  await initIssuer(bridge.db, { c, sealer: loadMasterKey(c, keyFile) }, tenant.id)
  return { bridge, httpUrl, mqttUrl, tenantId: tenant.id, operatorKey: operatorKey.key, dir }
}

/** Runs the CLI and collects its output. */
export function collectIo() {
  const out: string[] = []
  const err: string[] = []
  return {
    out,
    err,
    io: {
      stdout: (l: string) => out.push(l),
      stderr: (l: string) => err.push(l),
      env: {} as NodeJS.ProcessEnv,
      c,
    },
  }
}
