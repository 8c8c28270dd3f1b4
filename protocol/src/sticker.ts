/**
 * The merchant sticker (SPEC.md §7), printed at provisioning and stuck on the box: how a wallet learns which
 * merchant and device it pays and the box's encryption key, with no network.
 *   'S'(1) || node certificate(165) || name length(1) || merchant display name (UTF-8, ≤ 48 bytes)
 * QR text: "OPGM:" + Base45. The wallet must verify the node certificate against its issuer keyring.
 */
import { base45Decode, base45Encode } from './base45.js'
import { fromUtf8, Reader, utf8, Writer } from './bytes.js'
import { decodeNodeCertificate, NODE_CERT_LEN, type NodeCertificate } from './certificates.js'
import { check, ProtocolError } from './errors.js'

export const STICKER_TYPE = 0x53 // 'S'
export const STICKER_PREFIX = 'OPGM:'
export const STICKER_NAME_MAX = 48
const STICKER_MAX = 1 + NODE_CERT_LEN + 1 + STICKER_NAME_MAX
export const STICKER_TEXT_MAX = STICKER_PREFIX.length + Math.ceil(STICKER_MAX / 2) * 3

export interface Sticker {
  nodeCert: NodeCertificate
  merchantName: string
}

export function encodeSticker(s: Sticker): string {
  const name = utf8(s.merchantName)
  if (name.length > STICKER_NAME_MAX) throw new ProtocolError('bad_field', 'merchant name too long')
  const b = new Writer()
    .u8(STICKER_TYPE)
    .raw(s.nodeCert.bytes, NODE_CERT_LEN)
    .u8(name.length)
    .raw(name)
    .finish()
  return STICKER_PREFIX + base45Encode(b)
}

export function decodeSticker(text: string): Sticker {
  if (typeof text !== 'string') throw new ProtocolError('bad_encoding', 'sticker must be text')
  if (text.length > STICKER_TEXT_MAX) throw new ProtocolError('oversized', 'sticker text too long')
  if (!text.startsWith(STICKER_PREFIX))
    throw new ProtocolError('bad_prefix', `sticker must start with ${STICKER_PREFIX}`)
  const r = new Reader(base45Decode(text.slice(STICKER_PREFIX.length)), 'sticker')
  check(r.u8() === STICKER_TYPE, 'bad_type', 'not a sticker')
  const nodeCert = decodeNodeCertificate(r.bytes(NODE_CERT_LEN))
  const n = r.u8()
  check(n <= STICKER_NAME_MAX, 'bad_field', 'merchant name too long')
  const merchantName = fromUtf8(r.bytes(n))
  r.end()
  return { nodeCert, merchantName }
}

/** The short tag a box advertises over BLE so a wallet connects to the box on its sticker: 8 hex chars. */
export function deviceTag(deviceId: string): string {
  return deviceId.slice(0, 8)
}
