/**
 * The stack as most system tests want it: a scratch data folder, a silent bridge on free ports with in-process
 * verification, started, and stopped and removed with the test.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger } from '@opg/cloud-bridge'
import { LocalStack, type LocalStackOptions, type StackInfo } from './stack.js'

export async function startTestStack(
  t: { teardown(fn: () => unknown): void },
  name: string,
  o: Partial<LocalStackOptions> = {},
): Promise<{ stack: LocalStack; info: StackInfo; dataDir: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), `opg-${name}-`))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const stack = new LocalStack({
    dataDir,
    bridgeLogger: createLogger('silent'),
    ...o,
    env: { OPG_HTTP_PORT: '0', OPG_MQTT_EMBEDDED_PORT: '0', OPG_VERIFY_WORKERS: '0', ...(o.env ?? {}) },
  })
  const info = await stack.start()
  t.teardown(() => stack.stop())
  return { stack, info, dataDir }
}
