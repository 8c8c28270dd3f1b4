/**
 * The merchant sticker (protocol/SPEC.md §7): the `OPGM:` QR a wallet scans to learn which merchant and box it
 * pays, with the merchant's name and the box's tag printed under it so a person can match sticker to box. Made
 * from an enrolled bundle; drawn once as SVG (for print shops) and rendered from it to PNG (for label printers),
 * or as terminal blocks.
 */
import { decodeNodeCertificate, deviceTag, encodeSticker } from '@opg/protocol'
import { Resvg } from '@resvg/resvg-js'
import QRCode from 'qrcode'
import { BUNDLE_FILES, type Manifest, readBundle } from './bundle.js'
import { stickerName } from './enrol.js'
import { ProvisionError } from './errors.js'

/** What goes on a sticker. */
export interface StickerContent {
  /** The QR text, `OPGM:…`. */
  text: string
  merchantName: string
  /** The short device tag the box advertises over BLE (8 hex). */
  tag: string
}

/** Sticker content from a bundle folder (its manifest and node certificate, checked against the manifest). */
export async function stickerFromBundle(dir: string): Promise<StickerContent & { manifest: Manifest }> {
  const { manifest, files } = await readBundle(dir)
  const certFile = files.get(BUNDLE_FILES.nodeCertificate)
  if (!certFile) throw new ProvisionError('bundle_invalid', `${dir} has no ${BUNDLE_FILES.nodeCertificate}`)
  const nodeCert = decodeNodeCertificate(
    new Uint8Array(Buffer.from(Buffer.from(certFile).toString('latin1').trim(), 'hex')),
  )
  const merchantName = stickerName(manifest.merchantName)
  return {
    manifest,
    text: encodeSticker({ nodeCert, merchantName }),
    merchantName,
    tag: deviceTag(nodeCert.deviceId),
  }
}

/** Layout options. */
export interface RenderOptions {
  /** Pixels (PNG) or user units (SVG) per QR module; default 8. */
  moduleSize?: number
}

const QUIET = 4 // modules of quiet zone the QR standard asks for

function matrix(text: string): { size: number; dark: (r: number, c: number) => boolean } {
  // Level M: the sticker must survive scuffs; the payload (≤ 215 bytes) still fits a version 10 symbol.
  const qr = QRCode.create(text, { errorCorrectionLevel: 'M' })
  return { size: qr.modules.size, dark: (r, c) => Boolean(qr.modules.get(r, c)) }
}

const caption = (s: StickerContent) => [s.merchantName, `box ${s.tag}`]

/**
 * The sticker as PNG: the SVG below rendered by resvg (a maintained renderer; its binary ships in the npm
 * package), so the caption is real text in the system's sans-serif font, in any script the font covers, at
 * `dpi` for the label printer (default 300: a 9 mm QR module grid stays sharp).
 */
export function renderStickerPng(s: StickerContent, o: RenderOptions & { dpi?: number } = {}): Uint8Array {
  return rasterizeSticker(s, o).asPng()
}

/** The rendered sticker (pixels, width, height), for the PNG and for checks on what was drawn. */
export function rasterizeSticker(s: StickerContent, o: RenderOptions & { dpi?: number } = {}) {
  const svg = renderStickerSvg(s, o)
  // SVG user units are CSS pixels (96 per inch): scale to the printer's resolution.
  const zoom = (o.dpi ?? 300) / 96
  return new Resvg(svg, {
    fitTo: { mode: 'zoom', value: zoom },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
    background: '#ffffff',
  }).render()
}

const xml = (s: string) =>
  s.replace(
    /[<>&"']/g,
    (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[ch]!,
  )

/** The sticker as SVG: the QR as one path, the caption as real text (any script the printer's font has). */
export function renderStickerSvg(s: StickerContent, o: RenderOptions = {}): string {
  const m = matrix(s.text)
  const px = o.moduleSize ?? 8
  const qrWidth = (m.size + 2 * QUIET) * px
  const fontSize = Math.round(px * 2.5)
  const lines = caption(s)
  // A long name must not run off the label: widen it (a sans-serif glyph is about 0.6 em on average).
  const textWidth = Math.max(...lines.map((l) => [...l].length)) * fontSize * 0.6 + 2 * QUIET * px
  const width = Math.ceil(Math.max(qrWidth, textWidth))
  const offset = Math.floor((width - qrWidth) / 2)
  const height = qrWidth + lines.length * Math.round(fontSize * 1.3) + QUIET * px
  let d = ''
  for (let r = 0; r < m.size; r++) {
    for (let c = 0; c < m.size; c++)
      if (m.dark(r, c)) d += `M${offset + (c + QUIET) * px} ${(r + QUIET) * px}h${px}v${px}h-${px}z`
  }
  const texts = lines
    .map(
      (l, i) =>
        `<text x="${width / 2}" y="${qrWidth + i * Math.round(fontSize * 1.3)}" font-size="${fontSize}" text-anchor="middle" font-family="DejaVu Sans, sans-serif">${xml(l)}</text>`,
    )
    .join('')
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><rect width="100%" height="100%" fill="#fff"/><path d="${d}" fill="#000"/>${texts}</svg>\n`
}

/** The sticker for a terminal (half-block characters), with the caption under it. */
export async function renderStickerTerminal(s: StickerContent): Promise<string> {
  const qr = await QRCode.toString(s.text, { type: 'terminal', small: true, errorCorrectionLevel: 'M' })
  return `${qr}${caption(s).join('\n')}\n`
}
