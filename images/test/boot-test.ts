/**
 * Boot test of the SD-card image: a bridge on this machine (embedded broker on 127.0.0.1), a box enrolled with
 * `opg-provision enrol`, its bundle written to opg/ on a copy of the image's boot (FAT) partition, then
 * `qemu-system-aarch64 -M virt` boots that copy with the image's own Debian kernel and initrd. The guest's only
 * network is QEMU's restricted user net: 10.0.2.100:1883 is forwarded to the host broker (guestfwd) and the
 * host's 127.0.0.1:<port> to the box's control socket relay (hostfwd); nothing else is reachable.
 *
 * It checks: multi-user reached; first boot installed the bundle (0600 keys owned by opg) and removed it from
 * FAT; opg-node runs in simulated-hardware mode; the bridge sees the box online; a customer's wallet pays the
 * box (the signed payment handed to the node as its camera would), the box accepts it and syncs it to the
 * bridge over its MQTT link. It prints the time
 * from power-on of the fresh image to each of those steps.
 *
 *   npx tsx images/test/boot-test.ts <image> [--keep DIR]
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createWriteStream, existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Customer, LocalStack } from '@opg/e2e'
import { BridgeClient, stickerFromBundle, waitOnline } from '@opg/provisioning'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const image = process.argv[2]
if (!image || !existsSync(image)) {
  console.error('usage: boot-test.ts <image>')
  process.exit(2)
}
const BOOT_TIMEOUT_MS = Number(process.env.OPG_BOOT_TIMEOUT_MS ?? 900_000)

const t0 = Date.now()
const marks: [string, number][] = []
const mark = (what: string) => {
  const s = (Date.now() - tQemu) / 1000
  marks.push([what, s])
  console.log(`boot-test: ${what} at +${s.toFixed(1)} s`)
}
let tQemu = 0
let failures = 0
const check = (ok: boolean, what: string) => {
  console.log(`${ok ? 'ok' : 'not ok'} - ${what}`)
  if (!ok) failures++
}

/** Runs a program; a failure carries the program's stderr, so the report says why. */
function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (err) {
    const e = err as Error & { stderr?: string; stdout?: string; status?: number }
    throw new Error(
      `${cmd} ${args.slice(0, 2).join(' ')} failed: ${`status ${e.status}: ${(e.stderr ?? '').trim()} ${(e.stdout ?? '').trim()}`.trim()}`,
    )
  }
}

/** Start sector of partition n of an MBR disk image (sfdisk's JSON dump). */
function partitionStart(img: string, n: number): number {
  const pt = JSON.parse(sh('sfdisk', ['--json', img])) as {
    partitiontable: { partitions: { start: number }[] }
  }
  return pt.partitiontable.partitions[n - 1]!.start
}

async function waitFor<T>(
  what: string,
  f: () => Promise<T | undefined> | T | undefined,
  ms: number,
): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await f()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 500))
  }
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer()
    srv.once('error', rej)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => res(port))
    })
  })
}

/** One request to the node's control socket, through the hostfwd'ed relay. */
function control(port: number, req: object): Promise<{ ok: boolean; result?: unknown; message?: string }> {
  return new Promise((res, rej) => {
    const s = connect(port, '127.0.0.1')
    let buf = ''
    s.setEncoding('utf8')
    s.on('connect', () => s.write(`${JSON.stringify(req)}\n`))
    s.on('data', (d: string) => {
      buf += d
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const msg = JSON.parse(buf.slice(0, nl))
        buf = buf.slice(nl + 1)
        if (!('event' in msg)) {
          s.destroy()
          res(msg)
        }
      }
    })
    s.on('error', rej)
    s.on('close', () => rej(new Error('control relay closed')))
  })
}

const work = await mkdtemp(join(tmpdir(), 'opg-boot-'))
const stack = new LocalStack({
  dataDir: join(work, 'bridge'),
  startBox: false,
  env: { OPG_HTTP_PORT: '0', OPG_MQTT_EMBEDDED_PORT: '0', OPG_VERIFY_WORKERS: '0', OPG_SWEEP_INTERVAL: '2s' },
})
let qemu: ChildProcess | undefined
try {
  const info = await stack.start()
  // guestfwd's cmd: form opens a fresh connection to the host broker for each guest connection (a tcp: chardev
  // would be one connection, opened at QEMU start, for the VM's whole life).
  const brokerPort = Number(new URL(info.mqttUrl).port)
  console.log(`boot-test: bridge ${info.httpUrl}, broker ${info.mqttUrl}`)

  // Enrol as a technician does; the bench box takes simulated hardware (no camera, radio or modem in QEMU).
  const bundle = join(work, 'bundle')
  // Asynchronously: the bridge runs in this process, and a synchronous child would block the very event loop
  // that has to answer the enrolment's requests (the command hung until it was killed).
  await promisify(execFile)(process.execPath, [
    join(ROOT, 'provisioning/bin/opg-provision.js'),
    'enrol',
    '--bridge',
    info.httpUrl,
    '--operator-key',
    info.operatorKey,
    '--merchant-name',
    'Image Test Shop',
    '--label',
    'qemu-pi',
    '--mqtt-url',
    'mqtt://127.0.0.1:1883',
    '--out',
    bundle,
  ])
  const manifest = JSON.parse(await readFile(join(bundle, 'manifest.json'), 'utf8'))
  const cfg = JSON.parse(await readFile(join(bundle, 'opg-node.json'), 'utf8'))
  cfg.hardware = { ...cfg.hardware, mode: 'sim', cameraEnabled: false, bleEnabled: false }
  const cfgBytes = Buffer.from(`${JSON.stringify(cfg, null, 2)}\n`)
  await writeFile(join(bundle, 'opg-node.json'), cfgBytes, { mode: 0o600 })
  for (const f of manifest.files) {
    if (f.name === 'opg-node.json') {
      f.size = cfgBytes.length
      f.sha256 = createHash('sha256').update(cfgBytes).digest('hex')
    }
  }
  await writeFile(join(bundle, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 })
  const sticker = await stickerFromBundle(bundle)

  // A fresh copy of the image with the bundle on its FAT partition (mtools, at the partition's offset).
  const disk = join(work, 'sd.img')
  sh('cp', ['--sparse=always', image, disk])
  const fat = `${disk}@@${partitionStart(disk, 1) * 512}`
  sh('mmd', ['-i', fat, '::/opg'])
  for (const name of await readdir(bundle)) sh('mcopy', ['-i', fat, join(bundle, name), `::/opg/${name}`])
  const bootFiles = sh('mdir', ['-b', '-i', fat, '::/'])
    .split('\n')
    .map((l) => l.trim().replace(/^::\//, ''))
  const kernel = bootFiles.find((f) => /^vmlinuz-/.test(f))
  const initrd = bootFiles.find((f) => /^initrd\.img-/.test(f))
  if (!kernel || !initrd) throw new Error(`no kernel/initrd on the boot partition: ${bootFiles.join(' ')}`)
  sh('mcopy', ['-i', fat, `::/${kernel}`, join(work, 'vmlinuz')])
  sh('mcopy', ['-i', fat, `::/${initrd}`, join(work, 'initrd.img')])

  const ctrlPort = await freePort()
  const consoleLog = join(work, 'console.log')
  const out = createWriteStream(consoleLog)
  let consoleText = ''
  tQemu = Date.now()
  qemu = spawn(
    'qemu-system-aarch64',
    [
      ...['-M', 'virt', '-cpu', 'cortex-a72', '-smp', '2', '-m', '1024', '-nographic', '-no-reboot'],
      ...['-kernel', join(work, 'vmlinuz'), '-initrd', join(work, 'initrd.img')],
      ...['-append', 'root=LABEL=RASPIROOT rw console=ttyAMA0 panic=-1 opg.qemu=1'],
      ...['-drive', `file=${disk},if=virtio,format=raw`],
      ...[
        '-netdev',
        `user,id=n0,restrict=on,guestfwd=tcp:10.0.2.100:1883-cmd:socat - TCP:127.0.0.1:${brokerPort},hostfwd=tcp:127.0.0.1:${ctrlPort}-:7070`,
      ],
      ...['-device', 'virtio-net-pci,netdev=n0,romfile='],
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  )
  qemu.stdout!.on('data', (d: Buffer) => {
    out.write(d)
    consoleText += d.toString('latin1')
  })
  qemu.stderr!.on('data', (d: Buffer) => out.write(d))
  const exited = new Promise<void>((r) => qemu!.once('exit', () => r()))
  void exited.then(() => console.log('boot-test: qemu exited'))

  const seen = (re: RegExp) => () => (re.test(consoleText) ? true : undefined)
  await waitFor('the bundle installed', seen(/opg-firstboot: removed the bundle/), BOOT_TIMEOUT_MS)
  mark('first boot installed the bundle')
  await waitFor('multi-user', seen(/Reached target .*Multi-User System|login:/), BOOT_TIMEOUT_MS)
  mark('multi-user reached')
  check(!/opg-firstboot: bundle not installed/.test(consoleText), 'first boot accepted the bundle')

  await waitOnline(new BridgeClient(info.httpUrl, info.operatorKey), manifest.deviceId, {
    timeoutMs: BOOT_TIMEOUT_MS,
    intervalMs: 500,
  })
  mark('the bridge sees the box online')

  const status = await waitFor(
    'the control socket',
    () => control(ctrlPort, { cmd: 'status' }).catch(() => undefined),
    120_000,
  )
  check(status.ok === true, 'the node answers on its control socket')
  // In QEMU there is no GPIO, camera or radio: a node running at all runs the simulated hardware.
  check((status.result as { running?: boolean }).running === true, 'opg-node runs (simulated hardware)')

  const ana = await Customer.register(info.httpUrl, info.operatorKey, 'Ana', '+15550000111')
  await ana.topUpByCard(5000, 'EUR')
  await ana.loadPurse(3000, 1000)
  const payment = await ana.wallet.pay({ to: sticker.text, amount: 250 })
  const accepted = await control(ctrlPort, { cmd: 'accept', qrText: payment.qrText })
  const res = accepted.result as { ok?: boolean; code?: string } | undefined
  check(accepted.ok === true && res?.ok === true, `the box accepts the payment (${JSON.stringify(accepted)})`)
  mark('first accepted payment')

  // The box publishes what it accepted over its MQTT link; the bridge must hold the payment (any status: held
  // until the payer's wallet syncs, or further along).
  const txId = (res as { receipt?: { txId?: string } }).receipt?.txId
  const stored = await waitFor(
    'the payment at the bridge',
    async () => {
      const r = await fetch(`${info.httpUrl}/v1/payments/${txId}`, {
        headers: { authorization: `Bearer ${info.operatorKey}` },
      })
      return r.status === 200 ? ((await r.json()) as { status: string; amount?: unknown }) : undefined
    },
    120_000,
  )
  check(typeof stored.status === 'string', `the bridge holds the box's payment (${stored.status})`)
  mark('the payment synced to the bridge')

  // Power off, then read the card as a technician's PC would: the bundle must be gone from FAT, and the keys
  // on the root file system must be the opg user's, 0600 (the journal is replayed on a copy first: the guest
  // was cut off, not shut down).
  qemu.kill('SIGKILL')
  await exited
  check(!/^::\/opg$/m.test(sh('mdir', ['-b', '-i', fat, '::/'])), 'the bundle is gone from the FAT partition')
  const rootFs = join(work, 'root.ext4')
  const pt = JSON.parse(sh('sfdisk', ['--json', disk])) as {
    partitiontable: { partitions: { start: number; size: number }[] }
  }
  const rootPart = pt.partitiontable.partitions[1]!
  sh('dd', [
    `if=${disk}`,
    `of=${rootFs}`,
    'bs=512',
    `skip=${rootPart.start}`,
    `count=${rootPart.size}`,
    'conv=sparse',
    'status=none',
  ])
  try {
    execFileSync('e2fsck', ['-fy', rootFs], { stdio: 'ignore' })
  } catch (err) {
    // Exit status 1 or 2: errors corrected (the journal replay counts); anything higher is a real failure.
    if (((err as { status?: number }).status ?? 8) > 2) throw err
  }
  const passwd = sh('debugfs', ['-R', 'cat /etc/passwd', rootFs])
  const opgUid = passwd
    .split('\n')
    .find((l) => l.startsWith('opg:'))
    ?.split(':')[2]
  for (const key of ['device-secret', 'node-signing.key', 'node-encryption.key']) {
    const st = sh('debugfs', ['-R', `stat /etc/opg/keys/${key}`, rootFs])
    const mode = /Mode:\s+(\d+)/.exec(st)?.[1]
    const uid = /User:\s+(\d+)/.exec(st)?.[1]
    check(
      mode === '0600' && uid === opgUid,
      `/etc/opg/keys/${key} is 0600 and the opg user's (mode ${mode}, uid ${uid})`,
    )
  }

  console.log('\nboot-test: seconds from power-on of the fresh image')
  for (const [what, s] of marks) console.log(`  ${s.toFixed(1).padStart(7)}  ${what}`)
  console.log(`  (whole test including bridge and enrolment: ${((Date.now() - t0) / 1000).toFixed(1)} s)`)
} catch (err) {
  failures++
  console.error(`not ok - ${(err as Error).message}`)
  const log = join(work, 'console.log')
  if (existsSync(log)) console.error((await readFile(log, 'utf8')).slice(-4000))
} finally {
  qemu?.kill('SIGTERM')
  await stack.stop()
  if (process.env.OPG_BOOT_KEEP) console.log(`boot-test: kept ${work}`)
  else await rm(work, { recursive: true, force: true })
}
process.exit(failures === 0 ? 0 : 1)
