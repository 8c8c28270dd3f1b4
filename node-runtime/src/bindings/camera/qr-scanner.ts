/**
 * QR decoding with zxing-wasm (ZXing-C++ compiled to WebAssembly): it reads PNG and JPEG bytes itself, so
 * frames go straight from the camera to the decoder. The wasm binary is loaded from node_modules — by default
 * zxing-wasm fetches it from a CDN, which a box without network cannot reach.
 */
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { prepareZXingModule, type ReaderOptions, readBarcodes } from 'zxing-wasm/reader'
import { CameraError } from './camera.js'

/** Options of `QrScanner`. */
export interface QrScannerOptions {
  /** Path of zxing_reader.wasm; default: the one shipped in the zxing-wasm package. */
  wasmPath?: string
  /** Spend more time on hard images (rotated, low contrast); default true. */
  tryHarder?: boolean
}

/** Decodes one QR code per image. `start()` instantiates the wasm module once; `decode()` reuses it. */
export class QrScanner {
  private readerOptions: ReaderOptions | null = null

  constructor(private readonly options: QrScannerOptions = {}) {}

  async start(): Promise<void> {
    if (this.readerOptions) return
    const path =
      this.options.wasmPath ?? createRequire(import.meta.url).resolve('zxing-wasm/reader/zxing_reader.wasm')
    try {
      const file = await readFile(path)
      const wasmBinary = file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength)
      // zxing-wasm keeps the instantiated module in its own module scope; any binary of this version is the same
      // code, so later scanners reuse the first instance instead of compiling again.
      await prepareZXingModule({ overrides: { wasmBinary }, equalityFn: () => true, fireImmediately: true })
    } catch (err) {
      throw new CameraError('DECODER_FAILED', 'cannot load the QR decoder', { cause: err })
    }
    this.readerOptions = {
      formats: ['QRCode'],
      maxNumberOfSymbols: 1,
      tryHarder: this.options.tryHarder ?? true,
    }
  }

  async stop(): Promise<void> {
    this.readerOptions = null
  }

  /** Returns the text of the QR code in a PNG/JPEG image, or null when there is none. */
  async decode(image: Uint8Array): Promise<string | null> {
    if (!this.readerOptions) throw new CameraError('NOT_STARTED', 'QR scanner is not started')
    let results: Awaited<ReturnType<typeof readBarcodes>>
    try {
      results = await readBarcodes(image, this.readerOptions)
    } catch (err) {
      throw new CameraError('DECODER_FAILED', 'QR decoding failed', { cause: err })
    }
    const hit = results.find((r) => r.isValid)
    return hit ? hit.text : null
  }
}

/** Decodes the QR code in an image file (the `opg-node scan IMAGE` command); null when there is none. */
export async function decodeImageFile(path: string, scanner?: QrScanner): Promise<string | null> {
  const own = scanner ?? new QrScanner()
  await own.start()
  try {
    return await own.decode(await readFile(path))
  } finally {
    if (!scanner) await own.stop()
  }
}
