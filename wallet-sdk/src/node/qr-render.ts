/**
 * Drawing the payment QR code with `qrcode`: PNG (file or buffer), SVG, and text for a terminal. The text is
 * encoded as one alphanumeric segment at error-correction level M (SPEC: version ≤ 13), which is why the
 * payload is Base45 — byte mode would need a larger symbol.
 */
import QRCode from 'qrcode'

/** Error-correction level of payment QR codes. */
export const QR_ECC = 'M' as const

function segments(text: string): QRCode.QRCodeSegment[] {
  // Alphanumeric mode only holds upper-case, digits and " $%*+-./:"; anything else falls back to byte mode.
  return /^[0-9A-Z $%*+\-./:]*$/.test(text)
    ? [{ data: text, mode: 'alphanumeric' }]
    : [{ data: Buffer.from(text, 'utf8'), mode: 'byte' }]
}

/** The QR version (size) this text needs at level M. */
export function qrVersion(text: string): number {
  return QRCode.create(segments(text), { errorCorrectionLevel: QR_ECC }).version
}

/** PNG bytes of the QR code. */
export async function qrPng(text: string, o: { width?: number } = {}): Promise<Buffer> {
  return QRCode.toBuffer(segments(text), {
    type: 'png',
    errorCorrectionLevel: QR_ECC,
    margin: 4,
    width: o.width ?? 512,
  })
}

/** Write the QR code as a PNG file. */
export async function writeQrPng(path: string, text: string, o: { width?: number } = {}): Promise<void> {
  await QRCode.toFile(path, segments(text), {
    type: 'png',
    errorCorrectionLevel: QR_ECC,
    margin: 4,
    width: o.width ?? 512,
  })
}

/** SVG markup of the QR code. */
export async function qrSvg(text: string): Promise<string> {
  return QRCode.toString(segments(text), { type: 'svg', errorCorrectionLevel: QR_ECC, margin: 4 })
}

/** The QR code drawn with block characters, for a terminal (scannable from the screen). */
export async function qrTerminal(text: string, o: { small?: boolean } = {}): Promise<string> {
  return QRCode.toString(segments(text), {
    type: 'terminal',
    errorCorrectionLevel: QR_ECC,
    small: o.small ?? true,
  })
}
