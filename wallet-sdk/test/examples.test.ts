// The README's runnable examples keep running: each is executed as a child process (online-sync against a
// bridge on 127.0.0.1), and its output checked.
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { nodeBackend } from '@opg/protocol/node'
import t from 'tap'
import { FakeBridge, OPERATOR_KEY } from './support/fake-bridge.js'
import { world } from './support/fixtures.js'

const root = fileURLToPath(new URL('..', import.meta.url))

function runExample(name: string, env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--conditions=@opg/source', '--import', 'tsx', `examples/${name}`],
      { cwd: root, env: { ...process.env, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? 1 : 0, out: stdout + stderr }),
    )
  })
}

t.test('offline-qr-payment', async (t) => {
  const r = await runExample('offline-qr-payment.ts')
  t.equal(r.code, 0, r.out)
  t.match(r.out, /purse left: 8750/)
  t.match(r.out, /refused: over_limit/)
  t.match(r.out, /box accepted tx [0-9a-f-]{36} at counter 1/)
})

t.test('hardware-signer', async (t) => {
  const r = await runExample('hardware-signer.ts')
  t.equal(r.code, 0, r.out)
  t.match(r.out, /secret in storage: false/)
})

t.test('online-sync against a bridge', async (t) => {
  const bridge = new FakeBridge(nodeBackend, world(nodeBackend).issuer, Date.now)
  const url = await bridge.start()
  t.teardown(() => bridge.stop())
  const r = await runExample('online-sync.ts', { OPG_BRIDGE_URL: url, OPG_OPERATOR_KEY: OPERATOR_KEY })
  t.equal(r.code, 0, r.out)
  t.match(r.out, /purse 10000 EUR until/)
  t.match(r.out, /available: 10000/)
})
