/**
 * Renders a QR code into a 1280×720 grayscale camera frame the way a phone held up to the box looks: a lit
 * screen with the code and its quiet zone, on a darker background, somewhat off-centre, slightly out of focus
 * and with sensor noise. Used by `SimCamera` and the QR benchmark; decoding such a frame exercises zxing-wasm
 * exactly like a real capture.
 */
import { lazyModule } from '../lazy-module.js'
import { encodeGrayPng } from './png-encode.js'

/** qrcode is loaded on first use: the running box never renders a frame, and loading it costs ~9 MB of RSS. */
const QR = lazyModule<typeof import('qrcode')>('qrcode')

/** How the phone appears in the frame. */
export interface QrFrameOptions {
  width?: number
  height?: number
  /** Pixels per QR module; default fits the code (with quiet zone) into ~60 % of the frame height. */
  moduleSize?: number
  /** Offset of the phone from the frame centre, in pixels. */
  offsetX?: number
  offsetY?: number
  /** Amplitude of the sensor noise (grey levels, default 12). */
  noise?: number
  /** Soften edges with a 3×3 box blur (default true). */
  blur?: boolean
  /** QR error correction level (default 'M'). */
  errorCorrectionLevel?: 'L' | 'M' | 'Q' | 'H'
  /** Seed of the noise, for reproducible frames. */
  seed?: number
}

const QUIET_ZONE = 4

/** The QR version qrcode picks for `text` at the given level (handy for checks and the benchmark). */
export function qrVersion(text: string, level: QrFrameOptions['errorCorrectionLevel'] = 'M'): number {
  return QR().create(text, { errorCorrectionLevel: level }).version
}

/** Renders `text` (or nothing, when null) into a grayscale frame; returns the PNG bytes. */
export function renderQrFrame(text: string | null, opts: QrFrameOptions = {}): Uint8Array {
  const width = opts.width ?? 1280
  const height = opts.height ?? 720
  const px = new Uint8Array(width * height).fill(70)
  if (text !== null) {
    const qr = QR().create(text, { errorCorrectionLevel: opts.errorCorrectionLevel ?? 'M' })
    const n = qr.modules.size
    const span = n + 2 * QUIET_ZONE
    const m = opts.moduleSize ?? Math.max(2, Math.floor((height * 0.6) / span))
    const side = span * m
    const x0 = Math.round((width - side) / 2 + (opts.offsetX ?? 0))
    const y0 = Math.round((height - side) / 2 + (opts.offsetY ?? 0))
    // The phone body and its lit screen, a little larger than the code.
    fillRect(px, width, height, x0 - 3 * m, y0 - 6 * m, side + 6 * m, side + 12 * m, 25)
    fillRect(px, width, height, x0 - m, y0 - m, side + 2 * m, side + 2 * m, 225)
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        if (qr.modules.get(r, c))
          fillRect(px, width, height, x0 + (c + QUIET_ZONE) * m, y0 + (r + QUIET_ZONE) * m, m, m, 35)
      }
    }
  }
  const out = opts.blur === false ? px : boxBlur(px, width, height)
  addNoise(out, opts.noise ?? 12, opts.seed ?? 1)
  return encodeGrayPng(width, height, out)
}

function fillRect(
  px: Uint8Array,
  w: number,
  h: number,
  x: number,
  y: number,
  rw: number,
  rh: number,
  v: number,
) {
  const xa = Math.max(0, x)
  const xb = Math.min(w, x + rw)
  for (let yy = Math.max(0, y); yy < Math.min(h, y + rh); yy++)
    px.fill(v, yy * w + xa, yy * w + Math.max(xa, xb))
}

function boxBlur(src: Uint8Array, w: number, h: number): Uint8Array {
  const out = new Uint8Array(src.length)
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sum = 0
      let cnt = 0
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy
        if (yy < 0 || yy >= h) continue
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx
          if (xx < 0 || xx >= w) continue
          sum += src[yy * w + xx]!
          cnt++
        }
      }
      out[y * w + x] = Math.round(sum / cnt)
    }
  }
  return out
}

/** Deterministic uniform noise (xorshift32), clamped to 0..255. */
function addNoise(px: Uint8Array, amplitude: number, seed: number): void {
  if (amplitude <= 0) return
  let s = seed >>> 0 || 1
  for (let i = 0; i < px.length; i++) {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    const d = ((s >>> 0) / 0xffffffff - 0.5) * 2 * amplitude
    px[i] = Math.max(0, Math.min(255, Math.round(px[i]! + d)))
  }
}
