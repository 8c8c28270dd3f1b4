/**
 * A tiny raster for the sticker PNG: a grayscale canvas, a 5×7 bitmap font for the caption (A–Z, 0–9 and common
 * punctuation; lower case is printed upper case, anything else as '?') and a PNG encoder on node:zlib. The SVG
 * sticker uses real text; this keeps the PNG free of a font renderer or a native canvas dependency.
 */
import { deflateSync } from 'node:zlib'

// Each glyph: 7 rows, each row a base-32 digit whose 5 low bits are the pixels, left to right.
const FONT: Record<string, string> = {
  A: 'ehhvhhh',
  B: 'uhhuhhu',
  C: 'ehggghe',
  D: 'uhhhhhu',
  E: 'vgguggv',
  F: 'vgguggg',
  G: 'ehgnhhf',
  H: 'hhhvhhh',
  I: 'e44444e',
  J: '72222ic',
  K: 'hikokih',
  L: 'ggggggv',
  M: 'hrllhhh',
  N: 'hhpljhh',
  O: 'ehhhhhe',
  P: 'uhhuggg',
  Q: 'ehhhlid',
  R: 'uhhukih',
  S: 'fgge11u',
  T: 'v444444',
  U: 'hhhhhhe',
  V: 'hhhhha4',
  W: 'hhhllla',
  X: 'hha4ahh',
  Y: 'hhha444',
  Z: 'v1248gv',
  '0': 'ehjlphe',
  '1': '4c4444e',
  '2': 'eh1248v',
  '3': 'v2421he',
  '4': '26aiv22',
  '5': 'vgu11he',
  '6': '68guhhe',
  '7': 'v124888',
  '8': 'ehhehhe',
  '9': 'ehhf12c',
  ' ': '0000000',
  '-': '000v000',
  '.': '00000cc',
  ':': '0cc0cc0',
  "'": '4480000',
  '&': 'cik8lid',
  '?': 'eh12404',
  '/': '01248g0',
  '#': 'aavavaa',
  ',': '0000c48',
  '(': '2488842',
  ')': '8422248',
  _: '000000v',
  '+': '044v440',
}

/** A white 8-bit grayscale image. */
export class Canvas {
  readonly width: number
  readonly height: number
  readonly pixels: Uint8Array

  constructor(width: number, height: number) {
    this.width = width
    this.height = height
    this.pixels = new Uint8Array(width * height).fill(255)
  }

  /** Paint a black rectangle (clipped to the canvas). */
  fill(x: number, y: number, w: number, h: number): void {
    for (let yy = Math.max(0, y); yy < Math.min(this.height, y + h); yy++) {
      this.pixels.fill(0, yy * this.width + Math.max(0, x), yy * this.width + Math.min(this.width, x + w))
    }
  }

  /** Draw text with the 5×7 font at  pixels per font pixel; returns the width drawn. */
  text(x: number, y: number, s: string, scale: number): number {
    let cx = x
    for (const ch of s.toUpperCase()) {
      const glyph = FONT[ch] ?? FONT['?']!
      for (let row = 0; row < 7; row++) {
        const bits = Number.parseInt(glyph[row]!, 32)
        for (let col = 0; col < 5; col++) {
          if (bits & (0x10 >> col)) this.fill(cx + col * scale, y + row * scale, scale, scale)
        }
      }
      cx += 6 * scale
    }
    return cx - x
  }

  /** Encode as a grayscale PNG. */
  png(): Uint8Array {
    const raw = Buffer.alloc((this.width + 1) * this.height)
    for (let y = 0; y < this.height; y++) {
      // Filter byte 0 (none), then the row.
      raw.set(this.pixels.subarray(y * this.width, (y + 1) * this.width), y * (this.width + 1) + 1)
    }
    const ihdr = Buffer.alloc(13)
    ihdr.writeUInt32BE(this.width, 0)
    ihdr.writeUInt32BE(this.height, 4)
    ihdr.set([8, 0, 0, 0, 0], 8) // 8-bit, grayscale, deflate, adaptive filtering, no interlace
    return new Uint8Array(
      Buffer.concat([
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
        chunk('IHDR', ihdr),
        chunk('IDAT', deflateSync(raw)),
        chunk('IEND', Buffer.alloc(0)),
      ]),
    )
  }
}

/** Width in pixels of `s` drawn by Canvas.text at `scale`. */
export function textWidth(s: string, scale: number): number {
  return [...s].length * 6 * scale - scale
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
})()

function crc32(b: Uint8Array): number {
  let c = 0xffffffff
  for (const byte of b) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8)
  head.writeUInt32BE(data.length, 0)
  head.write(type, 4, 'ascii')
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0)
  return Buffer.concat([head, data, crc])
}
