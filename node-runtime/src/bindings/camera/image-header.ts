/**
 * Frame size from the image header, read before any pixel is decoded. A PNG or JPEG states its width and
 * height up front, and a decoder allocates width × height × 4 bytes from them: a 1 MB file that claims
 * 30,000 × 30,000 pixels asks for 3.6 GB. Checking the header against what the camera can produce refuses such a
 * decompression bomb with a typed error before the decoder sees it.
 */
import { CameraError, type ImageMime, sniffImageMime } from './camera.js'

/** What the header says about a frame. */
export interface ImageHeader {
  mime: ImageMime
  width: number
  height: number
}

/** Largest frame the box decodes. */
export interface FrameLimits {
  /** Longest side in pixels. */
  maxSide: number
  /** Width × height. */
  maxPixels: number
  /** Encoded size in bytes (checked by callers that read files). */
  maxBytes: number
}

/**
 * Default limits: the largest Raspberry Pi camera sensor (HQ camera 4056 × 3040, Camera Module 3 4608 × 2592)
 * fits, and so does a phone screenshot. The decoder then needs at most ~50 MB of RGBA, which a 512 MB Pi has.
 */
export const DEFAULT_FRAME_LIMITS: FrameLimits = {
  maxSide: 4608,
  maxPixels: 4608 * 3040,
  maxBytes: 16 * 1024 * 1024,
}

/** Reads width and height from a PNG (IHDR) or JPEG (SOFn) header; throws CameraError otherwise. */
export function readImageHeader(bytes: Uint8Array): ImageHeader {
  const mime = sniffImageMime(bytes)
  if (mime === 'image/png') return { mime, ...pngSize(bytes) }
  if (mime === 'image/jpeg') return { mime, ...jpegSize(bytes) }
  throw new CameraError('UNKNOWN_FORMAT', 'not a PNG or JPEG image')
}

/** Throws CameraError('IMAGE_TOO_LARGE') when the header declares a frame beyond `limits`. */
export function checkFrameSize(bytes: Uint8Array, limits: FrameLimits = DEFAULT_FRAME_LIMITS): ImageHeader {
  if (bytes.length > limits.maxBytes) {
    throw new CameraError(
      'IMAGE_TOO_LARGE',
      `image is ${bytes.length} bytes; the limit is ${limits.maxBytes}`,
    )
  }
  const h = readImageHeader(bytes)
  if (h.width > limits.maxSide || h.height > limits.maxSide || h.width * h.height > limits.maxPixels) {
    throw new CameraError(
      'IMAGE_TOO_LARGE',
      `image declares ${h.width}×${h.height} pixels; the limit is ${limits.maxSide} per side and ${limits.maxPixels} in all`,
    )
  }
  return h
}

function bad(what: string): CameraError {
  return new CameraError('BAD_IMAGE', what)
}

function u16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) >>> 0) + (b[at + 1]! << 16) + (b[at + 2]! << 8) + b[at + 3]!
}

/** PNG: the signature, then IHDR must be the first chunk (ISO/IEC 15948 §5.6). */
function pngSize(b: Uint8Array): { width: number; height: number } {
  if (b.length < 24) throw bad('PNG header is truncated')
  const ihdr = String.fromCharCode(b[12]!, b[13]!, b[14]!, b[15]!)
  if (u32(b, 8) !== 13 || ihdr !== 'IHDR') throw bad('PNG does not start with an IHDR chunk')
  const width = u32(b, 16)
  const height = u32(b, 20)
  if (width === 0 || height === 0) throw bad('PNG declares an empty frame')
  return { width, height }
}

/** Start-of-frame markers carry the size: C0–CF except DHT (C4), JPG (C8) and DAC (CC). */
function isSof(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc
}

/** JPEG: walk the marker segments from SOI to the first SOFn; APPn (EXIF thumbnails) are skipped by length. */
function jpegSize(b: Uint8Array): { width: number; height: number } {
  let i = 2
  while (i < b.length) {
    if (b[i] !== 0xff) throw bad('JPEG marker expected')
    // Any number of 0xFF fill bytes may precede a marker.
    while (i < b.length && b[i] === 0xff) i++
    if (i >= b.length) break
    const marker = b[i]!
    i++
    // Standalone markers have no length: TEM, RST0–7.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue
    if (marker === 0xd9 || marker === 0xda) throw bad('JPEG has no frame header before its scan')
    if (i + 2 > b.length) break
    const len = u16(b, i)
    if (len < 2) throw bad('JPEG segment length is invalid')
    if (isSof(marker)) {
      if (len < 7 || i + 7 > b.length) break
      const height = u16(b, i + 3)
      const width = u16(b, i + 5)
      // Height 0 means "defined later by DNL"; a decoder would then size the frame from the data. Refuse it.
      if (width === 0 || height === 0) throw bad('JPEG declares an empty or deferred frame size')
      return { width, height }
    }
    i += len
  }
  throw bad('JPEG header is truncated')
}
