/**
 * `opg-provision push`: send a bundle to a box over its serial console, to `opg-node receive-provisioning` on
 * the other end. The framing (ASCII lines with CRC-32, stop-and-wait ACK/NAK) is the box's, shared from
 * node-runtime so both ends cannot drift apart. Each frame is retried on NAK or silence; the box writes the
 * bundle only after every file matched the manifest, and acknowledges the end frame once it has.
 */
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Duplex } from 'node:stream'
import { SerialPort } from 'serialport'
// The framing lives with the receiver in the box's CLI; it is not on node-runtime's package surface.
import {
  CHUNK_BYTES,
  encodeFrame,
  type Frame,
  LineChannel,
  parseFrame,
} from '../../node-runtime/src/cli/provisioning-transfer.js'
import { BUNDLE_FILES, readBundle } from './bundle.js'
import { ProvisionError } from './errors.js'

/** Options of pushBundle. */
export interface PushOptions {
  /** Wait this long for each answer before sending again; default 2000. */
  replyTimeoutMs?: number
  /** Sends of one frame before giving up; default 5. */
  attempts?: number
}

/** The frames that carry `files` (name → bytes), manifest.json last, then the end frame. */
export function bundleFrames(files: Map<string, Uint8Array>, hash: (b: Uint8Array) => string): Frame[] {
  const frames: Frame[] = []
  const add = (type: Frame['type'], payload: Uint8Array) => frames.push({ seq: frames.length, type, payload })
  const names = [...files.keys()].sort(
    (a, b) => Number(a === BUNDLE_FILES.manifest) - Number(b === BUNDLE_FILES.manifest),
  )
  for (const name of names) {
    const bytes = files.get(name)!
    add('F', new Uint8Array(Buffer.from(JSON.stringify({ name, size: bytes.length, sha256: hash(bytes) }))))
    for (let i = 0; i < bytes.length; i += CHUNK_BYTES) add('D', bytes.subarray(i, i + CHUNK_BYTES))
  }
  add('E', new Uint8Array(0))
  return frames
}

/** Send the bundle in `dir` over `port` (already open); resolves once the box has written it. */
export async function pushBundle(
  port: Pick<Duplex, 'on' | 'off' | 'write'>,
  dir: string,
  o: PushOptions = {},
) {
  const { files } = await readBundle(dir)
  files.set(BUNDLE_FILES.manifest, new Uint8Array(await readFile(join(dir, BUNDLE_FILES.manifest))))
  const frames = bundleFrames(files, (b) => createHash('sha256').update(b).digest('hex'))
  const ch = new LineChannel(port)
  ch.start()
  try {
    for (const frame of frames) await sendOne(ch, frame, o)
  } finally {
    ch.stop()
  }
  return { files: [...files.keys()], frames: frames.length }
}

async function sendOne(ch: LineChannel, frame: Frame, o: PushOptions): Promise<void> {
  const attempts = o.attempts ?? 5
  for (let attempt = 1; attempt <= attempts; attempt++) {
    await ch.send(encodeFrame(frame))
    const deadline = Date.now() + (o.replyTimeoutMs ?? 2000)
    for (;;) {
      const left = deadline - Date.now()
      const line = left > 0 ? await ch.next(left) : undefined
      if (line === undefined) break // silence: send again
      const reply = parseFrame(line)
      if (reply === undefined || reply === 'corrupt' || reply.seq !== frame.seq) continue
      if (reply.type === 'A') return
      if (reply.type === 'N') {
        const reason = Buffer.from(reply.payload).toString('utf8')
        if (reason.startsWith('fatal:')) {
          throw new ProvisionError('transfer_failed', `the box refused the bundle: ${reason.slice(6)}`)
        }
        break // it asked for the frame again
      }
    }
  }
  throw new ProvisionError(
    'transfer_failed',
    `no answer from the box for frame ${frame.seq} after ${attempts} tries`,
  )
}

/** Open the serial device, push the bundle, close. */
export async function pushOverSerial(
  path: string,
  dir: string,
  baudRate: number,
  o: PushOptions = {},
): Promise<void> {
  const port = new SerialPort({ path, baudRate, autoOpen: false })
  await new Promise<void>((resolve, reject) =>
    port.open((err) =>
      err ? reject(new ProvisionError('transfer_failed', `cannot open ${path}`, { cause: err })) : resolve(),
    ),
  )
  try {
    await pushBundle(port, dir, o)
  } finally {
    await new Promise<void>((resolve) => port.close(() => resolve()))
  }
}
