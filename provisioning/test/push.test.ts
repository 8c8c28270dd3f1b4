// The bundle over a serial console: `opg-provision push` to `opg-node receive-provisioning` across a socat pty
// pair with the real serialport binding; and, on an in-memory line, a corrupted frame and a lost ACK are
// recovered from, while a file that arrives damaged makes the box refuse the bundle and write nothing.
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { runCli } from '@opg/node-runtime'
import { nodeBackend as c } from '@opg/protocol/node'
import { openPtyPair } from '@opg/testkit/modem-sim/pty-pair.js'
import t from 'tap'
import {
  encodeFrame,
  LineChannel,
  parseFrame,
  receiveBundle,
  writeReceived,
} from '../../node-runtime/src/cli/provisioning-transfer.js'
import { BUNDLE_FILES, readBundle, writeBundle } from '../src/bundle.js'
import { runProvisionCli } from '../src/cli.js'
import { pushBundle, pushOverSerial } from '../src/serial-push.js'

const scratch = mkdtempSync(join(tmpdir(), 'opg-push-'))
t.teardown(() => rmSync(scratch, { recursive: true, force: true }))

/** A bundle shaped like enrol's (the transfer does not look inside the files). */
async function makeBundle(dir: string) {
  const bytes = (n: number) => new Uint8Array(c.randomBytes(n))
  await writeBundle(
    dir,
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
      [BUNDLE_FILES.config]: bytes(900), // larger than one frame: several data frames per file
      [BUNDLE_FILES.deviceSecret]: bytes(33),
      [BUNDLE_FILES.signingKey]: bytes(65),
      [BUNDLE_FILES.encryptionKey]: bytes(65),
      [BUNDLE_FILES.nodeCertificate]: bytes(331),
    },
  )
}

t.test('push over a pty pair to opg-node receive-provisioning', async (t) => {
  const bundle = join(scratch, 'pty-bundle')
  await makeBundle(bundle)
  const pair = await openPtyPair()
  t.teardown(() => pair.close())
  const received = join(scratch, 'boot-opg')
  const boxOut: string[] = []
  const box = runCli(
    ['receive-provisioning', '--serial', pair.devicePath, '--dir', received, '--timeout', '30'],
    {
      stdout: (l) => boxOut.push(l),
      stderr: (l) => boxOut.push(l),
      env: {},
    },
  )
  const out: string[] = []
  const err: string[] = []
  const code = await runProvisionCli(['push', '--serial', pair.simPath, bundle], {
    stdout: (l) => out.push(l),
    stderr: (l) => err.push(l),
    env: {},
    c,
    push: (path, dir, baud) => pushOverSerial(path, dir, baud),
  })
  t.equal(code, 0, err.join('\n'))
  t.equal(await box, 0, boxOut.join('\n'))
  const { files } = await readBundle(received)
  t.equal(files.size, 5, 'every file arrived and matches the manifest')
  for (const name of [...files.keys(), BUNDLE_FILES.manifest]) {
    t.same(await readFile(join(received, name)), await readFile(join(bundle, name)), `${name} is identical`)
    t.equal(statSync(join(received, name)).mode & 0o777, 0o600, `${name} is 0600`)
  }
})

/** Two ends of an in-memory line; `tamper` may change or drop what the sender's side writes. */
function line(tamper: (text: string) => string | null) {
  const toBox = new PassThrough()
  const toTech = new PassThrough()
  const tech = {
    on: (e: string, f: (c: Buffer) => void) => toTech.on(e, f),
    off: (e: string, f: (c: Buffer) => void) => toTech.off(e, f),
    write: (d: string, _e: BufferEncoding, cb: (err?: Error | null) => void) => toBox.write(d, cb),
  }
  const box = {
    on: (e: string, f: (c: Buffer) => void) => toBox.on(e, f),
    off: (e: string, f: (c: Buffer) => void) => toBox.off(e, f),
    write: (d: string, _e: BufferEncoding, cb: (err?: Error | null) => void) => {
      const out = tamper(d)
      if (out === null) cb()
      else toTech.write(out, cb)
    },
  }
  // biome-ignore lint/suspicious/noExplicitAny: the two stand-ins implement the part of Duplex the channel uses
  return { tech: tech as any, box: box as any }
}

t.test('a corrupted frame and a lost ACK are recovered from', async (t) => {
  const bundle = join(scratch, 'lossy-bundle')
  await makeBundle(bundle)
  let acks = 0
  // The box's side of the line: the third ACK is lost, and a line-noise burst precedes every reply.
  const { tech, box } = line((text) => {
    if (parseFrame(text) !== undefined && (parseFrame(text) as { type: string }).type === 'A' && ++acks === 3)
      return null
    return `\u0000noise\r\n${text}`
  })
  // The technician's side corrupts frame 2 the first time it is sent.
  let corrupted = false
  const lossyTech = {
    ...tech,
    write: (d: string, e: BufferEncoding, cb: (err?: Error | null) => void) => {
      if (!corrupted && d.startsWith('OPGP1 2 ')) {
        corrupted = true
        return tech.write(d.replace(/ D ([A-Za-z])/, ' D x$1'), e, cb)
      }
      return tech.write(d, e, cb)
    },
  }
  const ch = new LineChannel(box)
  ch.start()
  const dest = join(scratch, 'lossy-received')
  const receiving = receiveBundle(ch, { timeoutMs: 10_000, commit: (f) => writeReceived(dest, f) })
  const sent = await pushBundle(lossyTech, bundle, { replyTimeoutMs: 300 })
  const files = await receiving
  ch.stop()
  t.ok(corrupted, 'a frame was corrupted on the way')
  t.ok(acks >= 3, 'an ACK was lost on the way')
  t.equal(files.size, 6)
  t.ok(sent.frames > 10)
  t.equal((await readBundle(dest)).files.size, 5, 'the bundle arrived whole')
})

t.test('a file that arrives damaged is refused and nothing is written', async (t) => {
  const { tech, box } = line((text) => text)
  const rx = new LineChannel(box)
  const tx = new LineChannel(tech)
  rx.start()
  tx.start()
  const dest = join(scratch, 'damaged')
  const receiving = receiveBundle(rx, { timeoutMs: 5_000, commit: (f) => writeReceived(dest, f) })
  const header = { name: 'device-secret', size: 4, sha256: '0'.repeat(64) }
  const replyType = async () => {
    const f = parseFrame((await tx.next(1000)) ?? '')
    return f && f !== 'corrupt' ? f.type : f
  }
  await tx.send(
    encodeFrame({ seq: 0, type: 'F', payload: new Uint8Array(Buffer.from(JSON.stringify(header))) }),
  )
  t.equal(await replyType(), 'A')
  await tx.send(encodeFrame({ seq: 1, type: 'D', payload: new Uint8Array([1, 2, 3, 4]) }))
  t.equal(await replyType(), 'A')
  await tx.send(encodeFrame({ seq: 2, type: 'E', payload: new Uint8Array(0) }))
  const reply = parseFrame((await tx.next(1000))!)
  t.equal(reply !== 'corrupt' && reply?.type, 'N')
  t.match(
    Buffer.from((reply as { payload: Uint8Array }).payload).toString(),
    /^fatal:device-secret arrived damaged/,
  )
  await t.rejects(receiving, { code: 'invalid' })
  rx.stop()
  tx.stop()
  t.notOk(existsSync(dest), 'nothing written')
})

t.test('push refuses a bundle that no longer matches its manifest', async (t) => {
  const bundle = join(scratch, 'stale-bundle')
  await makeBundle(bundle)
  const { writeFile } = await import('node:fs/promises')
  await writeFile(join(bundle, BUNDLE_FILES.deviceSecret), 'changed\n')
  const { tech } = line((text) => text)
  await t.rejects(pushBundle(tech, bundle), { code: 'bundle_invalid' })
})
