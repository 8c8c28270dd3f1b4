/**
 * The camera as the rest of the node sees it: capture one still frame as encoded image bytes. QR decoding is a
 * separate step (`QrScanner`), so any frame source — the Pi camera, a simulated phone, an image file — feeds it.
 */

/** Image formats a capture may come in. */
export type ImageMime = 'image/png' | 'image/jpeg'

/** One captured frame. */
export interface CapturedImage {
  bytes: Uint8Array
  mime: ImageMime
}

/** The camera binding: real (`RaspistillCamera`) or simulated (`SimCamera`). */
export interface Camera {
  start(): Promise<void>
  /** Ends a capture in progress and releases the device and temporary files. */
  stop(): Promise<void>
  /** Takes one still frame. Captures are serialised: the camera serves one at a time. */
  capture(): Promise<CapturedImage>
}

/** Stable codes of `CameraError`. */
export type CameraErrorCode =
  | 'NOT_STARTED'
  | 'CAPTURE_FAILED'
  | 'CAPTURE_TIMEOUT'
  | 'UNKNOWN_FORMAT'
  | 'BAD_IMAGE'
  | 'IMAGE_TOO_LARGE'
  | 'DECODER_FAILED'
  | 'NO_CAMERA_PROGRAM'

/** Errors of the camera and QR bindings, with a stable `code`. */
export class CameraError extends Error {
  override readonly name = 'CameraError'
  constructor(
    readonly code: CameraErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** Tells PNG from JPEG by their magic bytes (a file name or a camera setting can lie; the bytes cannot). */
export function sniffImageMime(bytes: Uint8Array): ImageMime | null {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    return 'image/png'
  }
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg'
  return null
}
