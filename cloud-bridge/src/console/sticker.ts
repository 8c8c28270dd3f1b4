/**
 * A box's merchant sticker (SPEC §7) as a print-ready SVG, straight from what the bridge holds: the box's node
 * certificate and the merchant's name. The QR is the same `OPGM:` text `opg-provision sticker` prints; the
 * caption is real text (the printer's fonts), so it stays sharp at any size.
 */
import { decodeNodeCertificate, deviceTag, encodeSticker, STICKER_NAME_MAX } from '@opg/protocol'
import QRCode from 'qrcode'
import type { Queryable } from '../api/ports.js'
import type { Scope } from './scope.js'

const QUIET = 4
const esc = (s: string) => s.replace(/[<>&"']/g, (ch) => `&#${ch.charCodeAt(0)};`)

/** Trim a name to what the sticker format carries (48 UTF-8 bytes), on a character boundary. */
function stickerName(name: string): string {
  const enc = new TextEncoder()
  let out = ''
  for (const ch of name) {
    if (enc.encode(out + ch).length > STICKER_NAME_MAX) break
    out += ch
  }
  return out
}

/** What a box's sticker says: the `OPGM:` text, the name and the tag; null when out of scope or uncertified. */
export async function stickerContent(
  q: Queryable,
  s: Scope,
  deviceId: string,
): Promise<{ text: string; merchantName: string; tag: string } | null> {
  const { rows } = await q.query<{ certificate: Uint8Array | null; name: string }>(
    `SELECT d.certificate, m.name FROM devices d JOIN merchants m ON m.tenant_id = d.tenant_id AND m.id = d.merchant_id
      WHERE d.tenant_id = $1 AND d.id = $2 AND ($3::text IS NULL OR d.merchant_id = $3)`,
    [s.tenantId, deviceId, s.merchantId],
  )
  const r = rows[0]
  if (!r?.certificate) return null
  const nodeCert = decodeNodeCertificate(new Uint8Array(r.certificate))
  const merchantName = stickerName(r.name)
  return { text: encodeSticker({ nodeCert, merchantName }), merchantName, tag: deviceTag(nodeCert.deviceId) }
}

/** The sticker of a box in scope as SVG, or null (unknown box, another merchant's, or not yet certified). */
export async function stickerSvg(q: Queryable, s: Scope, deviceId: string): Promise<string | null> {
  const content = await stickerContent(q, s, deviceId)
  if (!content) return null
  const { text, merchantName, tag } = content
  const qr = QRCode.create(text, { errorCorrectionLevel: 'M' })
  const n = qr.modules.size
  const side = n + 2 * QUIET
  let path = ''
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) if (qr.modules.get(y, x)) path += `M${x + QUIET} ${y + QUIET}h1v1h-1z`
  }
  const h = side + 9
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${side} ${h}" width="${side * 4}mm" height="${h * 4}mm">
<rect width="${side}" height="${h}" fill="#fff"/>
<path d="${path}" fill="#000" shape-rendering="crispEdges"/>
<text x="${side / 2}" y="${side + 3}" font-family="sans-serif" font-size="3" text-anchor="middle">${esc(merchantName)}</text>
<text x="${side / 2}" y="${side + 7}" font-family="monospace" font-size="2.4" text-anchor="middle">box ${tag}</text>
</svg>
`
}
