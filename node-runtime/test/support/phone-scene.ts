/**
 * Camera frames of a phone held up to the box, as JPEG files: the phone's lit screen shows a payment QR and is
 * seen through a homography (position, rotation, perspective tilt), then blurred, washed out or hit by a glare
 * spot, with sensor noise, and encoded by jpeg-js like the camera's JPEG encoder would. Every parameter comes
 * from a seed, so a frame set is reproducible.
 */
import jpeg from 'jpeg-js'
import QRCode from 'qrcode'

/** The shop conditions the benchmark and the tests sweep. */
export const CONDITIONS = ['clean', 'blur', 'rotation', 'perspective', 'low-contrast', 'glare'] as const
export type Condition = (typeof CONDITIONS)[number]

export interface SceneOptions {
  width?: number
  height?: number
  seed?: number
  /** JPEG quality (default 85). */
  quality?: number
}

const QUIET = 4

function rng(seed: number): () => number {
  let x = (seed * 2654435761) >>> 0 || 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 4294967296
  }
}

/** 3×3 homography taking the unit square's corners (0,0) (1,0) (1,1) (0,1) to `q` (image pixels). */
function squareToQuad(q: [number, number][]): number[] {
  const [[x0, y0], [x1, y1], [x2, y2], [x3, y3]] = q as [
    [number, number],
    [number, number],
    [number, number],
    [number, number],
  ]
  const dx1 = x1 - x2
  const dx2 = x3 - x2
  const dy1 = y1 - y2
  const dy2 = y3 - y2
  const sx = x0 - x1 + x2 - x3
  const sy = y0 - y1 + y2 - y3
  const den = dx1 * dy2 - dx2 * dy1
  const g = (sx * dy2 - dx2 * sy) / den
  const h = (dx1 * sy - sx * dy1) / den
  return [x1 - x0 + g * x1, x3 - x0 + h * x3, x0, y1 - y0 + g * y1, y3 - y0 + h * y3, y0, g, h, 1]
}

function invert3(m: number[]): number[] {
  const [a, b, c, d, e, f, g, h, i] = m as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ]
  const A = e * i - f * h
  const B = -(d * i - f * g)
  const C = d * h - e * g
  const det = a * A + b * B + c * C
  return [
    A,
    -(b * i - c * h),
    b * f - c * e,
    B,
    a * i - c * g,
    -(a * f - c * d),
    C,
    -(a * h - b * g),
    a * e - b * d,
  ].map((v) => v / det)
}

function boxBlur(src: Float32Array, w: number, h: number, r: number): Float32Array {
  const tmp = new Float32Array(src.length)
  const out = new Float32Array(src.length)
  const n = 2 * r + 1
  for (let y = 0; y < h; y++) {
    let acc = 0
    for (let k = -r; k <= r; k++) acc += src[y * w + Math.min(w - 1, Math.max(0, k))]!
    for (let x = 0; x < w; x++) {
      tmp[y * w + x] = acc / n
      acc += src[y * w + Math.min(w - 1, x + r + 1)]! - src[y * w + Math.max(0, x - r)]!
    }
  }
  for (let x = 0; x < w; x++) {
    let acc = 0
    for (let k = -r; k <= r; k++) acc += tmp[Math.min(h - 1, Math.max(0, k)) * w + x]!
    for (let y = 0; y < h; y++) {
      out[y * w + x] = acc / n
      acc += tmp[Math.min(h - 1, y + r + 1) * w + x]! - tmp[Math.max(0, y - r) * w + x]!
    }
  }
  return out
}

/** Renders `text` as a payment QR on a phone screen under `condition`; returns JPEG bytes. */
export function renderPhoneScene(text: string, condition: Condition, opts: SceneOptions = {}): Uint8Array {
  const w = opts.width ?? 1280
  const h = opts.height ?? 720
  const rand = rng((opts.seed ?? 1) * 7919 + CONDITIONS.indexOf(condition))
  const span = (n: number) => n + 2 * QUIET
  const qr = QRCode.create(text, { errorCorrectionLevel: 'M' })
  const n = qr.modules.size
  const total = span(n)

  // Where the code lands: ~60 % of the frame height, somewhat off-centre.
  const side = h * (0.56 + 0.08 * rand())
  const cx = w / 2 + (rand() - 0.5) * 200
  const cy = h / 2 + (rand() - 0.5) * 60
  let theta = (rand() - 0.5) * 0.1
  let tiltX = 1
  let tiltY = 1
  if (condition === 'rotation') theta = (rand() < 0.5 ? -1 : 1) * (0.25 + 0.5 * rand()) // 15°–43°
  if (condition === 'perspective') {
    tiltX = 0.7 + 0.1 * rand() // far edge 20–30 % shorter
    tiltY = 0.85 + 0.1 * rand()
  }
  const local: [number, number][] = [
    [-side / 2, (-side / 2) * tiltY],
    [side / 2, (-side / 2) * tiltX],
    [side / 2, (side / 2) * tiltX],
    [-side / 2, side / 2],
  ]
  const cos = Math.cos(theta)
  const sin = Math.sin(theta)
  const quad = local.map(([x, y]) => [cx + x * cos - y * sin, cy + x * sin + y * cos] as [number, number])
  const inv = invert3(squareToQuad(quad))

  const lowContrast = condition === 'low-contrast'
  const light = lowContrast ? 150 + 15 * rand() : 215 + 20 * rand()
  const dark = lowContrast ? light - 38 - 10 * rand() : 40
  const px = new Float32Array(w * h)
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const zw = inv[6]! * x + inv[7]! * y + inv[8]!
      const u = (inv[0]! * x + inv[1]! * y + inv[2]!) / zw
      const v = (inv[3]! * x + inv[4]! * y + inv[5]!) / zw
      let val = 55 + (35 * y) / h
      if (u >= -0.08 && u <= 1.08 && v >= -0.3 && v <= 1.4) val = 22 // phone body
      if (u >= -0.03 && u <= 1.03 && v >= -0.22 && v <= 1.3) val = light // lit screen
      if (u >= 0 && u < 1 && v >= 0 && v < 1) {
        const c = Math.floor(u * total) - QUIET
        const r = Math.floor(v * total) - QUIET
        if (c >= 0 && r >= 0 && c < n && r < n && qr.modules.get(r, c)) val = dark
      }
      px[y * w + x] = val
    }
  }
  if (condition === 'glare') {
    // A lamp's reflection: a soft saturated spot over part of the code.
    const gx = cx + (rand() - 0.5) * side * 0.6
    const gy = cy + (rand() - 0.5) * side * 0.6
    const rad = side * (0.1 + 0.06 * rand())
    const peak = 170 + 60 * rand()
    for (let y = Math.max(0, Math.floor(gy - 3 * rad)); y < Math.min(h, gy + 3 * rad); y++)
      for (let x = Math.max(0, Math.floor(gx - 3 * rad)); x < Math.min(w, gx + 3 * rad); x++) {
        const d2 = ((x - gx) ** 2 + (y - gy) ** 2) / (rad * rad)
        px[y * w + x] = px[y * w + x]! + peak * Math.exp(-d2)
      }
  }
  // Focus: slightly soft always; the blur condition is a phone too close for the lens (σ ≈ 1.6–2 px).
  let img = boxBlur(px, w, h, 1)
  if (condition === 'blur') img = boxBlur(boxBlur(img, w, h, 2), w, h, rand() < 0.5 ? 1 : 2)
  const rgba = new Uint8Array(w * h * 4)
  const noise = rng((opts.seed ?? 1) + 101)
  for (let i = 0; i < w * h; i++) {
    const g = Math.max(0, Math.min(255, Math.round(img[i]! + (noise() - 0.5) * 16)))
    rgba[i * 4] = g
    rgba[i * 4 + 1] = g
    rgba[i * 4 + 2] = g
    rgba[i * 4 + 3] = 255
  }
  const out = jpeg.encode({ data: rgba, width: w, height: h }, opts.quality ?? 85)
  return new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength)
}
