/**
 * The merchant sticker as a technician hands it over: its `OPGM:` text, a text file holding it, or the PNG/JPEG
 * that `opg-provision sticker` printed. Images are decoded with zxing-wasm (the decoder the box uses); the wasm
 * binary is read from node_modules, never fetched, so this works offline.
 */
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { prepareZXingModule, readBarcodes } from 'zxing-wasm/reader'
import { WalletError } from '../core/errors.js'

const PNG = [0x89, 0x50, 0x4e, 0x47]
const JPEG = [0xff, 0xd8, 0xff]

function startsWith(b: Uint8Array, magic: number[]): boolean {
  return magic.every((x, i) => b[i] === x)
}

/** The sticker text from `OPGM:…`, a text file, or a sticker image file (read relative to the caller). */
export async function readStickerArg(arg: string, path: (p: string) => string): Promise<string> {
  if (arg.startsWith('OPGM:')) return arg
  let bytes: Buffer
  try {
    bytes = await readFile(path(arg))
  } catch (cause) {
    throw new WalletError('bad_sticker', `cannot read the sticker file ${arg}`, { cause })
  }
  if (!startsWith(bytes, PNG) && !startsWith(bytes, JPEG)) return bytes.toString('utf8').trim()
  const text = await decodeQr(bytes)
  if (!text) throw new WalletError('bad_sticker', `no QR code found in the image ${arg}`)
  return text
}

let prepared: Promise<unknown> | undefined

async function decodeQr(image: Uint8Array): Promise<string | null> {
  prepared ??= (async () => {
    const file = await readFile(createRequire(import.meta.url).resolve('zxing-wasm/reader/zxing_reader.wasm'))
    const wasmBinary = file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength)
    await prepareZXingModule({ overrides: { wasmBinary }, equalityFn: () => true, fireImmediately: true })
  })()
  await prepared
  const results = await readBarcodes(image, { formats: ['QRCode'], maxNumberOfSymbols: 1, tryHarder: true })
  return results.find((r) => r.isValid)?.text ?? null
}
