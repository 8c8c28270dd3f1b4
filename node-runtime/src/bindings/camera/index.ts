/** The camera binding and QR decoding: interface, Pi camera, simulated phone, zxing-wasm scanner. */
export {
  type Camera,
  CameraError,
  type CameraErrorCode,
  type CapturedImage,
  type ImageMime,
  sniffImageMime,
} from './camera.js'
export { findCameraProgram, RASPISTILL_COMPAT, whichSync } from './camera-program.js'
export {
  checkFrameSize,
  DEFAULT_FRAME_LIMITS,
  type FrameLimits,
  type ImageHeader,
  readImageHeader,
} from './image-header.js'
export { JpegStreamSplitter } from './jpeg-stream.js'
export { encodeGrayPng } from './png-encode.js'
export { type QrFrameOptions, qrVersion, renderQrFrame } from './qr-frame.js'
export { decodeImageFile, QrScanner, type QrScannerOptions } from './qr-scanner.js'
export { RaspistillCamera, type RaspistillCameraOptions } from './raspistill-camera.js'
export { SimCamera } from './sim-camera.js'
