/**
 * The node process is SIGKILLed in the middle of a sync and started again: nothing is lost (every payment
 * reaches the bridge and is marked synced in the journal), and only what was in flight at the kill is sent
 * again. Runs the real opg-node command against the real Mosquitto.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfigFile, loadSecrets } from '../../src/config/index.js'
import { controlSocketPath } from '../../src/node/control.js'
import { openNode } from '../../src/node/open-node.js'
import { makeWorld, qrFor, randomId, TestWallet } from '../accept/fixtures.js'
import { runOpgNode, startOpgNode, stopOpgNode } from './cli-run.js'
import { clearSession, FakeBridge, waitFor } from './harness.js'
import { provisionBox } from './provision.js'

const URL = 'mqtt://127.0.0.1:1883'
const BATCH = 20

t.test('SIGKILL mid-sync, restart: nothing lost', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'opg-crash-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const world = makeWorld(randomId(), Date.now())
  const box = await provisionBox(dir, world, {
    mqttUrl: URL,
    extra: {
      sync: { batchSize: BATCH, window: 1, ackTimeoutMs: 3_000, reconnectMinMs: 100, reconnectMaxMs: 500 },
    },
  })
  const { config } = await loadConfigFile(box.configPath, {})
  const secrets = await loadSecrets(config)

  // Payments taken while offline, journaled by the real file vault.
  const ids: string[] = []
  {
    const opened = await openNode(config, secrets)
    const wallets = Array.from({ length: 4 }, () => new TestWallet(world, { purseAmount: 1e6 }))
    for (let i = 0; i < 300; i++) {
      const out = await opened.node.accept({ qrText: qrFor(world, wallets[i % 4]!.token(100)) })
      if (!out.ok) throw new Error(out.code)
      ids.push(out.receipt.txId)
    }
    await opened.close()
  }

  const bridge = new FakeBridge(URL)
  bridge.addDevice(world.deviceId, world.deviceSecret)
  bridge.ackDelayMs = 60
  await bridge.start()
  t.teardown(() => bridge.stop())
  t.teardown(() => clearSession(URL, world.deviceId))

  const first = await startOpgNode(box.configPath, controlSocketPath(box.dataDir))
  await waitFor(() => bridge.booked.size >= 100, 30_000, 'the sync to be under way')
  await stopOpgNode(first, 'SIGKILL')
  t.ok(bridge.booked.size < 300, 'killed before the backlog was through')

  const second = await startOpgNode(box.configPath, controlSocketPath(box.dataDir))
  const sync = await runOpgNode(['sync', '--config', box.configPath, '--timeout', '60'])
  t.equal(sync.code, 0, sync.stderr)
  if (sync.code !== 0) t.comment(second.out())
  t.match(sync.stdout, 'synced: 0 pending')
  t.equal(await stopOpgNode(second), 0)

  t.same([...bridge.booked].sort(), [...ids].sort(), 'the bridge has every payment')
  const resent = [...bridge.deliveries.values()].filter((n) => n > 1).length
  t.ok(resent <= 2 * BATCH, `only the batches in flight at the kill were sent again (${resent})`)

  const reopened = await openNode(config, secrets)
  t.teardown(() => reopened.close())
  t.match(reopened.node.report(), { pendingCount: 0, payments: 300 })
})
