// The bundle over BLE: `opg-node receive-provisioning --ble`'s receiver on the real bleno and the technician's
// pushOverBle on the real noble, each in its own process on testkit's virtual HCI radio. This file is all three
// roles: the test, the box (OPG_PEER_ROLE=box) and the technician's laptop (OPG_PEER_ROLE=tech).
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { newSetupCode } from '@opg/protocol'
import { nodeBackend as c } from '@opg/protocol/node'
import { type PeerProcess, peerConfig, spawnPeer, VirtualRadio } from '@opg/testkit/virtual-hci/index.js'

const FILE = fileURLToPath(import.meta.url)
const peer = peerConfig()
if (peer?.role === 'box') await runBox(peer)
else if (peer?.role === 'tech') await runTech(peer)
else await runTests()

type Config = NonNullable<ReturnType<typeof peerConfig>>

/** The box: receiveOverBle with bleno on the radio; reports its output and its result as events. */
async function runBox(config: Config): Promise<void> {
  const { installVirtualHci, servePeer } = await import('@opg/testkit/virtual-hci/index.js')
  const { BlenoBleBinding } = await import('../../node-runtime/src/bindings/ble/index.js')
  const { receiveOverBle } = await import('../../node-runtime/src/cli/ble-provisioning.js')
  const vhci = installVirtualHci({ radioPath: config.radioPath, address: config.address, name: config.name })
  let stop: () => void = () => {}
  const stopped = new Promise<void>((resolve) => {
    stop = resolve
  })
  servePeer(
    {
      // The real command line, as the image would run it (default limits).
      serveCli: async (args: { dir: string; extra?: string[] }, emit) => {
        const { runCli } = await import('../../node-runtime/src/cli/main.js')
        void runCli(['receive-provisioning', '--ble', '--dir', args.dir, ...(args.extra ?? [])], {
          stdout: (line) => emit('log', line),
          stderr: (line) => emit('log', line),
          env: {},
          stopSignal: stopped,
        }).then((code) => emit(code === 0 ? 'installed' : 'failed', code))
        return { ok: true }
      },
      serve: async (args: { dir: string; maxFailures: number; lockMs?: number }, emit) => {
        void receiveOverBle({
          dir: args.dir,
          binding: (options) => new BlenoBleBinding(options),
          maxFailures: args.maxFailures,
          ...(args.lockMs !== undefined ? { lockMs: args.lockMs } : {}),
          failureDelayMs: () => 0,
          stdout: (line) => emit('log', line),
          stopSignal: stopped,
        }).then(
          (files) => emit('installed', files),
          (err: { code?: string }) => emit('failed', err.code),
        )
        return { ok: true }
      },
    },
    async () => {
      stop()
      await new Promise((r) => setTimeout(r, 50))
      vhci.close()
    },
  )
}

/** The technician: one noble client on the setup profile; each 'push' is one attempt, errors as data. */
async function runTech(config: Config): Promise<void> {
  const { installVirtualHci, servePeer } = await import('@opg/testkit/virtual-hci/index.js')
  const { NobleGattClient } = await import('../../wallet-sdk/src/node/ble/index.js')
  const { pushOverBle, SETUP_PROFILE } = await import('../src/ble-push.js')
  const vhci = installVirtualHci({ radioPath: config.radioPath, address: config.address, name: config.name })
  const client = new NobleGattClient({ profile: SETUP_PROFILE })
  await client.start()
  servePeer(
    {
      pushCli: async (args: { setupId: string; code: string; dir: string }) => {
        const { runProvisionCli } = await import('../src/cli.js')
        const { nodeBackend } = await import('@opg/protocol/node')
        const out: string[] = []
        const code = await runProvisionCli(['push', args.dir, '--ble', args.setupId], {
          stdout: (l) => out.push(l),
          stderr: (l) => out.push(l),
          env: { OPG_SETUP_CODE: args.code },
          c: nodeBackend,
          pushBle: async (id, setupCode, dir) => {
            await pushOverBle((x) => client.connect(x, { timeoutMs: 5000 }), {
              setupId: id,
              code: setupCode,
              dir,
            })
          },
        })
        return { code, out: out.join('\n') }
      },
      push: async (args: { setupId: string; code: string; dir: string }) => {
        try {
          const r = await pushOverBle((id) => client.connect(id, { timeoutMs: 5000 }), args)
          return { files: r.files }
        } catch (err) {
          const e = err as { code?: string; message?: string }
          return { error: e.code, message: e.message }
        }
      },
    },
    async () => {
      await client.stop()
      vhci.close()
    },
  )
}

async function runTests(): Promise<void> {
  const { default: t } = await import('tap')
  const { writeBundle } = await import('../src/bundle.js')
  const scratch = mkdtempSync(join(tmpdir(), 'opg-ble-push-'))
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }))

  const bundleDir = join(scratch, 'bundle')
  const bytes = (n: number) => new Uint8Array(c.randomBytes(n))
  await writeBundle(
    bundleDir,
    {
      tenantId: '0011223344556677',
      merchantId: '1122334455667788',
      deviceId: '2233445566778899',
      merchantName: 'Corner Shop',
      label: 'till 1',
      modemNumber: null,
      createdAt: new Date().toISOString(),
    },
    {
      'opg-node.json': Buffer.from('{"config":"of the box"}\n'),
      'device-secret': Buffer.from(Buffer.from(bytes(32)).toString('hex')),
      'node-signing.key': Buffer.from(Buffer.from(bytes(32)).toString('hex')),
      'node-encryption.key': Buffer.from(Buffer.from(bytes(32)).toString('hex')),
      'node.cert': bytes(3000),
    },
  )

  /** An unprovisioned box's boot folder as the image leaves it: only the setup code. */
  const newBoxDir = (name: string) => {
    const dir = join(scratch, name)
    mkdirSync(dir, { mode: 0o700 })
    const setup = newSetupCode()
    writeFileSync(join(dir, 'setup-code.json'), JSON.stringify(setup), { mode: 0o600 })
    return { dir, ...setup }
  }
  /** Another code for the same box: right length, wrong value. */
  const wrongCode = (code: string) => newSetupCode().code.replace(/^./, code[0] === 'A' ? 'B' : 'A')

  const radio = new VirtualRadio({ maxAttMtu: 185 })
  await radio.start()
  const peers: PeerProcess[] = []
  t.teardown(async () => {
    await Promise.all(peers.map((p) => p.stop()))
    await radio.stop()
  })
  const tech = spawnPeer({ file: FILE, role: 'tech', radioPath: radio.path, address: 'a1:7e:c0:00:00:01' })
  peers.push(tech)
  const advertising = (setupId: string) => (cs: ReturnType<VirtualRadio['controllers']>) =>
    cs.some((x) => x.advertising && x.localName === `OPGS ${setupId}`)
  async function startBox(
    name: string,
    address: string,
    maxFailures: number | 'cli',
    o: { extra?: string[]; lockMs?: number; failed?: { count: number; agoMs: number } } = {},
  ) {
    const box = newBoxDir(name)
    if (o.failed) {
      // The counter a previous run left: its time is the last wrong code's.
      const file = join(box.dir, 'ble-setup-failures')
      writeFileSync(file, `${o.failed.count}\n`, { mode: 0o600 })
      const at = new Date(Date.now() - o.failed.agoMs)
      utimesSync(file, at, at)
    }
    const p = spawnPeer({ file: FILE, role: 'box', radioPath: radio.path, address })
    peers.push(p)
    if (maxFailures === 'cli') await p.call('serveCli', { dir: box.dir, extra: o.extra ?? [] })
    else await p.call('serve', { dir: box.dir, maxFailures, lockMs: o.lockMs })
    await radio.waitFor(advertising(box.setupId))
    return { ...box, peer: p }
  }
  type PushResult = { files?: string[]; error?: string; message?: string }
  const push = (setupId: string, code: string) =>
    tech.call<PushResult>('push', { setupId, code, dir: bundleDir }, 60_000)
  const failures = (dir: string) => readFileSync(join(dir, 'ble-setup-failures'), 'utf8').trim()

  t.test(
    'a wrong code is refused and counted; the right one installs the bundle 0600; the service goes away',
    async (t) => {
      const box = await startBox('box-a', 'b0:0c:00:00:00:0a', 3)
      const wrong = await push(box.setupId, wrongCode(box.code))
      t.equal(wrong.error, 'wrong_code', 'the technician is told the code is wrong')
      t.match(wrong.message, /2 attempts left/)
      t.equal(failures(box.dir), '1', 'the wrong proof is counted on disk')
      t.notOk(existsSync(join(box.dir, 'manifest.json')), 'nothing written')

      const typed = box.code.toLowerCase().replace(/-/g, ' ') // as a person might type it
      const ok = await push(box.setupId.toLowerCase(), typed)
      t.notOk(ok.error, ok.message ?? 'installed')
      t.same(
        [...(ok.files ?? [])].sort(),
        [
          'device-secret',
          'manifest.json',
          'node-encryption.key',
          'node-signing.key',
          'node.cert',
          'opg-node.json',
        ],
        'every file of the bundle, the manifest included',
      )
      for (const name of ok.files ?? []) {
        t.same(
          readFileSync(join(box.dir, name)),
          readFileSync(join(bundleDir, name)),
          `${name} arrived intact`,
        )
        t.equal(statSync(join(box.dir, name)).mode & 0o777, 0o600, `${name} is 0600`)
      }
      const outcome = await box.peer.waitForEvent((e) => e.event === 'installed' || e.event === 'failed')
      t.equal(outcome.event, 'installed', 'the box reports the bundle installed')
      t.notOk(existsSync(join(box.dir, 'setup-code.json')), 'the one-time code is gone')
      t.notOk(existsSync(join(box.dir, 'ble-setup-failures')), 'the failure count is reset')
      await radio.waitFor((cs) => !advertising(box.setupId)(cs))
      const again = await push(box.setupId, box.code)
      t.equal(again.error, 'transfer_failed', 'a provisioned box no longer offers the service')
      t.match(again.message, /no box advertising/)
    },
  )

  t.test(
    'after maxFailures wrong codes the box is locked for lockMs, even against the right code',
    async (t) => {
      const lockMs = 10_000
      const box = await startBox('box-b', 'b0:0c:00:00:00:0b', 2, { lockMs })
      t.equal((await push(box.setupId, wrongCode(box.code))).error, 'wrong_code')
      const second = await push(box.setupId, wrongCode(box.code))
      const lockedAt = Date.now()
      t.equal(second.error, 'box_locked', 'the second wrong code locks it')
      const right = await push(box.setupId, box.code)
      t.ok(Date.now() - lockedAt < lockMs, 'still within the lock') // else this run was too slow to tell
      t.equal(right.error, 'box_locked', 'the right code is refused while locked')
      t.equal(failures(box.dir), '2')
      t.notOk(existsSync(join(box.dir, 'manifest.json')), 'nothing written')
      t.ok(existsSync(join(box.dir, 'setup-code.json')))
      t.notOk(box.peer.events.some((e) => e.event === 'installed'))

      // Not for good: a stranger in radio range must not be able to stop the box from ever being provisioned.
      await new Promise((r) => setTimeout(r, lockedAt + lockMs - Date.now() + 100))
      const later = await push(box.setupId, box.code)
      t.notOk(later.error, later.message ?? 'installed once the lock is over')
      t.ok(existsSync(join(box.dir, 'manifest.json')))
    },
  )

  t.test('a restarted box takes the lock up from the time of the last wrong code', async (t) => {
    // Default limits (10 wrong codes, locked 1 h): the counter file is at the limit.
    const recent = await startBox('box-f', 'b0:0c:00:00:00:0f', 10, { failed: { count: 10, agoMs: 600_000 } })
    const r1 = await push(recent.setupId, recent.code)
    t.equal(r1.error, 'box_locked', 'ten minutes after the tenth wrong code: still locked after a restart')
    t.notOk(existsSync(join(recent.dir, 'manifest.json')))
    const old = await startBox('box-g', 'b0:0c:00:00:00:10', 10, { failed: { count: 10, agoMs: 7_200_000 } })
    const r2 = await push(old.setupId, old.code)
    t.notOk(r2.error, r2.message ?? 'two hours later the right code installs the bundle')
    t.ok(existsSync(join(old.dir, 'manifest.json')))
  })

  t.test('--timeout: without a bundle the box stops offering the service and says why', async (t) => {
    const box = await startBox('box-e', 'b0:0c:00:00:00:0e', 'cli', { extra: ['--timeout', '3'] })
    const outcome = await box.peer.waitForEvent((e) => e.event === 'installed' || e.event === 'failed')
    t.same(outcome, { event: 'failed', data: 1 }, 'the command exits 1')
    const said = box.peer.events.filter((e) => e.event === 'log').map((e) => String(e.data))
    t.ok(
      said.some((l) => l.includes('error timeout: no bundle arrived within 3 s')),
      `says why, with its code: ${said.join(' | ')}`,
    )
    await radio.waitFor((cs) => !advertising(box.setupId)(cs))
    t.ok(existsSync(join(box.dir, 'setup-code.json')), 'the code is kept for the next attempt')
    t.notOk(existsSync(join(box.dir, 'manifest.json')))
  })

  t.test('the code of one box does not open another; both command lines end to end', async (t) => {
    // Another box's id with this box's code: the proof fails at that box before anything of value is sent.
    const box = await startBox('box-c', 'b0:0c:00:00:00:0c', 'cli')
    const other = await startBox('box-d', 'b0:0c:00:00:00:0d', 5)
    const r = await push(other.setupId, box.code)
    t.equal(r.error, 'wrong_code')
    t.notOk(existsSync(join(other.dir, 'manifest.json')))
    const cli = await tech.call<{ code: number; out: string }>(
      'pushCli',
      { setupId: box.setupId, code: box.code, dir: bundleDir },
      60_000,
    )
    t.equal(cli.code, 0, cli.out)
    t.match(cli.out, `installed on OPGS ${box.setupId}`)
    t.ok(existsSync(join(box.dir, 'manifest.json')))
    await radio.waitFor((cs) => !advertising(box.setupId)(cs))
    // The command reports its exit after it has stopped advertising, so its outcome is awaited, not sampled.
    const outcome = await box.peer.waitForEvent((e) => e.event === 'installed' || e.event === 'failed')
    t.equal(outcome.event, 'installed', 'opg-node receive-provisioning --ble exited 0')
  })
}
