// Decompression bombs: PNG and JPEG headers that declare frames far beyond any Pi camera are refused from the
// header with a typed error, before the QR decoder is involved; honest frames still decode.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import t from 'tap'
import {
  checkFrameSize,
  decodeImageFile,
  QrScanner,
  readImageHeader,
  renderQrFrame,
} from '../../src/bindings/camera/index.js'

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4)
  len.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([len, body, crc])
}

/** A PNG signature and IHDR declaring `w`×`h` 8-bit RGBA, then `padding` bytes of IDAT (a bomb's body). */
function png(w: number, h: number, padding = 64): Buffer {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(w, 0)
  ihdr.writeUInt32BE(h, 4)
  ihdr.set([8, 6, 0, 0, 0], 8)
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.alloc(padding)),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

function segment(marker: number, body: Buffer): Buffer {
  const head = Buffer.from([0xff, marker, 0, 0])
  head.writeUInt16BE(body.length + 2, 2)
  return Buffer.concat([head, body])
}

/** A JPEG whose EXIF thumbnail (inside APP1) is tiny and whose real SOF0 declares `w`×`h`. */
function jpeg(w: number, h: number, sof = 0xc0): Buffer {
  const thumb = Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    segment(0xc0, Buffer.from([8, 0, 8, 0, 8, 1, 1, 0x11, 0])),
  ])
  const sofBody = Buffer.from([8, 0, 0, 0, 0, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1])
  sofBody.writeUInt16BE(h, 1)
  sofBody.writeUInt16BE(w, 3)
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    segment(0xe0, Buffer.from('JFIF\0\x01\x01\0\0\x01\0\x01\0\0', 'latin1')),
    segment(0xe1, Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), thumb])),
    Buffer.from([0xff, 0xff]), // fill bytes before a marker are legal
    segment(0xdb, Buffer.alloc(65)),
    segment(sof, sofBody),
    segment(0xda, Buffer.from([1, 1, 0, 0, 63, 0])),
    Buffer.alloc(32),
    Buffer.from([0xff, 0xd9]),
  ])
}

t.test('headers are read without decoding', async (t) => {
  t.same(readImageHeader(png(30_000, 30_000)), { mime: 'image/png', width: 30_000, height: 30_000 })
  t.same(
    readImageHeader(jpeg(1280, 720)),
    { mime: 'image/jpeg', width: 1280, height: 720 },
    'EXIF thumbnail skipped',
  )
  t.same(
    readImageHeader(jpeg(640, 480, 0xc2)),
    { mime: 'image/jpeg', width: 640, height: 480 },
    'progressive',
  )
  t.throws(() => readImageHeader(Buffer.from('GIF89a....')), { code: 'UNKNOWN_FORMAT' })
  t.throws(() => readImageHeader(png(10, 10).subarray(0, 20)), { code: 'BAD_IMAGE' })
  t.throws(() => readImageHeader(jpeg(10, 10).subarray(0, 40)), { code: 'BAD_IMAGE' })
  t.throws(() => readImageHeader(jpeg(100, 0)), { code: 'BAD_IMAGE' }, 'deferred height (DNL) refused')
  t.throws(() => readImageHeader(png(0, 10)), { code: 'BAD_IMAGE' })
})

t.test('frames beyond the camera are IMAGE_TOO_LARGE; camera-sized ones pass', async (t) => {
  t.throws(() => checkFrameSize(png(30_000, 30_000)), { name: 'CameraError', code: 'IMAGE_TOO_LARGE' })
  t.throws(() => checkFrameSize(png(100, 60_000)), { code: 'IMAGE_TOO_LARGE' }, 'one long side')
  t.throws(() => checkFrameSize(png(4608, 4608)), { code: 'IMAGE_TOO_LARGE' }, 'too many pixels in all')
  t.throws(() => checkFrameSize(png(0xffff_ffff, 0xffff_ffff)), { code: 'IMAGE_TOO_LARGE' }, 'no overflow')
  t.throws(() => checkFrameSize(jpeg(30_000, 30_000)), { code: 'IMAGE_TOO_LARGE' })
  t.same(checkFrameSize(png(4056, 3040)), { mime: 'image/png', width: 4056, height: 3040 }, 'Pi HQ camera')
  t.same(
    checkFrameSize(jpeg(4608, 2592)),
    { mime: 'image/jpeg', width: 4608, height: 2592 },
    'Camera Module 3',
  )
  t.throws(() => checkFrameSize(png(10, 10, 2000), { maxSide: 100, maxPixels: 10_000, maxBytes: 1000 }), {
    code: 'IMAGE_TOO_LARGE',
  })
})

t.test('the scanner refuses a bomb before its decoder is involved', async (t) => {
  // Not started: had the bytes reached the decoder, the answer would be NOT_STARTED.
  const idle = new QrScanner()
  await t.rejects(idle.decode(png(30_000, 30_000)), { code: 'IMAGE_TOO_LARGE' })
  await t.rejects(idle.decode(jpeg(30_000, 30_000)), { code: 'IMAGE_TOO_LARGE' })
  await t.rejects(idle.decode(Buffer.from('not an image at all')), { code: 'UNKNOWN_FORMAT' })
  await t.rejects(
    idle.decode(png(200, 200)),
    { code: 'NOT_STARTED' },
    'an honest frame goes on to the decoder',
  )

  const scanner = new QrScanner()
  await scanner.start()
  t.teardown(() => scanner.stop())
  await t.rejects(scanner.decode(png(30_000, 30_000, 1 << 20)), { code: 'IMAGE_TOO_LARGE' })
  const frame = renderQrFrame('OPG1:HONEST FRAME')
  t.equal(await scanner.decode(frame), 'OPG1:HONEST FRAME', 'a real frame still decodes')
})

t.test('decodeImageFile (opg-node scan) refuses a huge file by size and a bomb by header', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'opg-bomb-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const bomb = join(dir, 'bomb.png')
  await writeFile(bomb, png(30_000, 30_000, 1 << 20))
  await t.rejects(decodeImageFile(bomb), { code: 'IMAGE_TOO_LARGE', message: /30000×30000/ })
  const jbomb = join(dir, 'bomb.jpg')
  await writeFile(jbomb, jpeg(30_000, 30_000))
  await t.rejects(decodeImageFile(jbomb), { code: 'IMAGE_TOO_LARGE' })
  const big = join(dir, 'big.png')
  await writeFile(big, png(100, 100, 5000))
  const small = new QrScanner({ limits: { maxBytes: 4096 } })
  await t.rejects(decodeImageFile(big, small), { code: 'IMAGE_TOO_LARGE', message: /bytes/ })
})
