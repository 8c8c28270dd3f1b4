/**
 * The opg-node command end to end, as real processes: refusing to start unprovisioned, scanning a QR image
 * with and without a running node, status from the vault or the control socket, and `sync` with progress
 * against a broker and a bridge stand-in.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { renderQrFrame } from '../src/bindings/camera/index.js'
import { controlSocketPath } from '../src/node/control.js'
import { makeWorld, qrFor, randomId, TestWallet } from './accept/fixtures.js'
import { runOpgNode, startOpgNode, stopOpgNode } from './sync/cli-run.js'
import { aedesBroker, FakeBridge, freePort } from './sync/harness.js'
import { provisionBox } from './sync/provision.js'

async function tempDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'opg-cli-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

t.test('start refuses an unprovisioned box', async (t) => {
  const box = await provisionBox(await tempDir(t), makeWorld(randomId(), Date.now()))
  await rm(join(box.dir, 'keys'), { recursive: true })
  const r = await runOpgNode(['start', '--config', box.configPath, '--sim'])
  t.equal(r.code, 78)
  t.match(r.stderr, 'keys_missing')
  t.match(r.stderr, 'no default keys')
})

t.test('scan and status with no node running', async (t) => {
  const dir = await tempDir(t)
  const world = makeWorld(randomId(), Date.now())
  const box = await provisionBox(dir, world)
  const w = new TestWallet(world)
  const image = join(dir, 'phone.png')
  await writeFile(image, renderQrFrame(qrFor(world, w.token(1_250))))

  const first = await runOpgNode(['scan', image, '--config', box.configPath])
  t.equal(first.code, 0, first.stderr)
  t.match(first.stdout, /ACCEPTED 12\.50 EUR/)
  const again = await runOpgNode(['scan', image, '--config', box.configPath])
  t.equal(again.code, 1, 'a refused payment exits 1')
  t.match(again.stdout, 'REJECTED replay')

  const blank = join(dir, 'blank.png')
  await writeFile(blank, renderQrFrame(null))
  const none = await runOpgNode(['scan', blank, '--config', box.configPath])
  t.equal(none.code, 1)
  t.match(none.stderr, /^opg-node: error no_qr: no QR code found/)

  const status = await runOpgNode(['status', '--config', box.configPath, '--json'])
  t.equal(status.code, 0, status.stderr)
  t.match(JSON.parse(status.stdout), { running: false, pendingCount: 1, pendingAmount: { EUR: 1_250 } })
})

t.test('a running node: status, scan and sync over the control socket', async (t) => {
  const dir = await tempDir(t)
  const world = makeWorld(randomId(), Date.now())
  const broker = aedesBroker(await freePort())
  const url = `mqtt://127.0.0.1:${broker.port}`
  const box = await provisionBox(dir, world, { mqttUrl: url })
  const node = await startOpgNode(box.configPath, controlSocketPath(box.dataDir))
  t.teardown(() => stopOpgNode(node, 'SIGKILL'))
  t.teardown(() => broker.down())

  const w = new TestWallet(world)
  const image = join(dir, 'phone.png')
  await writeFile(image, renderQrFrame(qrFor(world, w.token(700))))
  const scan = await runOpgNode(['scan', image, '--config', box.configPath])
  t.match(scan.stdout, /ACCEPTED 7\.00 EUR/, scan.stderr)

  const second = await runOpgNode(['start', '--config', box.configPath, '--sim'])
  t.equal(second.code, 1, 'a second node on the same data dir is refused')
  t.match(second.stderr, 'already running')

  const offline = JSON.parse((await runOpgNode(['status', '--config', box.configPath, '--json'])).stdout)
  t.match(offline, { running: true, online: false, pendingCount: 1 })

  await broker.up()
  const bridge = new FakeBridge(url)
  bridge.addDevice(world.deviceId, world.deviceSecret)
  await bridge.start()
  t.teardown(() => bridge.stop())
  const sync = await runOpgNode(['sync', '--config', box.configPath, '--timeout', '30'])
  t.equal(sync.code, 0, sync.stderr)
  t.match(sync.stdout, 'synced: 0 pending')
  t.equal(bridge.booked.size, 1)

  const online = JSON.parse((await runOpgNode(['status', '--config', box.configPath, '--json'])).stdout)
  t.match(online, { running: true, online: true, pendingCount: 0 })
  t.type(online.lastSyncAt, 'number')

  t.equal(await stopOpgNode(node), 0, 'SIGTERM stops the node cleanly')
  const after = await runOpgNode(['status', '--config', box.configPath])
  t.match(after.stdout, 'node not running')
  t.match(after.stdout, /pending\s+0 payment/)
})
