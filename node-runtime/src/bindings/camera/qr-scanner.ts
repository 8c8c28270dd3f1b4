/**
 * QR decoding with zxing-wasm (ZXing-C++ compiled to WebAssembly): it reads PNG and JPEG bytes itself, so
 * frames go straight from the camera to the decoder. The wasm binary is loaded from node_modules — by default
 * zxing-wasm fetches it from a CDN, which a box without network cannot reach.
 */
import { open, readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { prepareZXingModule, type ReaderOptions, readBarcodes } from 'zxing-wasm/reader'
import { CameraError } from './camera.js'
import { checkFrameSize, DEFAULT_FRAME_LIMITS, type FrameLimits } from './image-header.js'

/** Options of `QrScanner`. */
export interface QrScannerOptions {
  /** Path of zxing_reader.wasm; default: the one shipped in the zxing-wasm package. */
  wasmPath?: string
  /** Spend more time on hard images (rotated, low contrast); default true. */
  tryHarder?: boolean
  /** Largest frame decoded; anything beyond is refused from its header (default `DEFAULT_FRAME_LIMITS`). */
  limits?: Partial<FrameLimits>
}

/** Decodes one QR code per image. `start()` instantiates the wasm module once; `decode()` reuses it. */
export class QrScanner {
  private readerOptions: ReaderOptions | null = null
  /** The limits in force. */
  readonly limits: FrameLimits

  constructor(private readonly options: QrScannerOptions = {}) {
    this.limits = { ...DEFAULT_FRAME_LIMITS, ...options.limits }
  }

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

  /**
   * Returns the text of the QR code in a PNG/JPEG image, or null when there is none. The header is checked
   * first: a frame beyond `limits` is refused with CameraError('IMAGE_TOO_LARGE') before the decoder allocates
   * anything for it, and bytes that are not a PNG or JPEG with 'UNKNOWN_FORMAT' or 'BAD_IMAGE'.
   */
  async decode(image: Uint8Array): Promise<string | null> {
    checkFrameSize(image, this.limits)
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
  // Size first, so a huge file is refused without being read into memory.
  const file = await open(path, 'r')
  let bytes: Buffer
  try {
    const { size } = await file.stat()
    if (size > own.limits.maxBytes) {
      throw new CameraError(
        'IMAGE_TOO_LARGE',
        `${path} is ${size} bytes; the limit is ${own.limits.maxBytes}`,
      )
    }
    bytes = await file.readFile()
  } finally {
    await file.close()
  }
  checkFrameSize(bytes, own.limits)
  await own.start()
  try {
    return await own.decode(bytes)
  } finally {
    if (!scanner) await own.stop()
  }
}
