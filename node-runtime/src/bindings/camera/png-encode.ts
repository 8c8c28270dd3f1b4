/**
 * 8-bit grayscale frames as PNG files, through pngjs (a maintained encoder, already under qrcode): the simulated
 * camera and the QR benchmark hand zxing-wasm real image files, as the real camera program writes them.
 */
import { lazyModule } from '../lazy-module.js'

/** pngjs is loaded on first use: the running box never encodes a frame, and loading it costs ~8 MB of RSS. */
const PNGjs = lazyModule<typeof import('pngjs')>('pngjs')

/** Encodes `pixels` (width×height bytes, 0 = black, 255 = white) as a grayscale PNG. */
export function encodeGrayPng(width: number, height: number, pixels: Uint8Array): Uint8Array {
  if (pixels.length !== width * height) throw new RangeError('pixel buffer does not match width × height')
  const { PNG } = PNGjs()
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, inputHasAlpha: false })
  png.data = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength)
  return new Uint8Array(
    PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false, deflateLevel: 3 }),
  )
}
