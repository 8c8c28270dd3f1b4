/**
 * SMS PDUs (3GPP TS 23.040 / 23.038) as the box needs them: decoding SMS-DELIVER (GSM 7-bit with the extension
 * table, UCS-2 with surrogate pairs, 8-bit; concatenation headers with 8- and 16-bit references) and encoding a
 * single-part GSM 7-bit SMS-SUBMIT. In PDU mode a message body travels as hex framed by a declared length, so no
 * text a sender chooses can ever look like modem output.
 *
 * Every length is checked against the bytes actually there: a PDU that lies about itself is a `PduError`, never a
 * partly decoded text.
 */

/** The GSM 03.38 default alphabet, by septet value. */
const GSM_DEFAULT =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà'

/** The extension table reached through ESC (0x1B). */
const GSM_EXTENSION: Record<number, string> = {
  10: '\f',
  20: '^',
  40: '{',
  41: '}',
  47: '\\',
  60: '[',
  61: '~',
  62: ']',
  64: '|',
  101: '€',
}

const GSM_EXTENSION_BY_CHAR = new Map(Object.entries(GSM_EXTENSION).map(([k, v]) => [v, Number(k)]))

/** A decoded SMS-DELIVER. */
export interface DeliverPdu {
  /** Originating address: `+` and digits for international numbers, digits, or an alphanumeric sender. */
  from: string
  text: string
  /** Service-centre time stamp; null when its digits are not a valid time. */
  sentAt: Date | null
  /** Present when the message is one part of a concatenated SMS. */
  concat?: { ref: number; total: number; seq: number }
}

/** A PDU that cannot be decoded; `code` is stable. */
export class PduError extends Error {
  override readonly name = 'PduError'
  readonly code = 'BAD_PDU'
}

class Reader {
  at = 0
  constructor(readonly b: Uint8Array) {}
  byte(what: string): number {
    if (this.at >= this.b.length) throw new PduError(`PDU ends before its ${what}`)
    return this.b[this.at++]!
  }
  bytes(n: number, what: string): Uint8Array {
    if (this.at + n > this.b.length) throw new PduError(`PDU ends inside its ${what}`)
    const out = this.b.subarray(this.at, this.at + n)
    this.at += n
    return out
  }
}

/** Parses hex (either case) into bytes; throws PduError for anything else. */
export function hexToBytes(hex: string): Uint8Array {
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex))
    throw new PduError('PDU is not an even run of hex digits')
  return Uint8Array.from(Buffer.from(hex, 'hex'))
}

/** Septets packed LSB-first into octets (23.038 §6.1.2.1.1), `count` of them from bit 0. */
function unpackSeptets(b: Uint8Array, count: number): number[] {
  const out: number[] = []
  for (let i = 0; i < count; i++) {
    const bit = i * 7
    const lo = b[bit >> 3] ?? 0
    const hi = b[(bit >> 3) + 1] ?? 0
    out.push((((hi << 8) | lo) >> (bit & 7)) & 0x7f)
  }
  return out
}

function septetsToText(septets: number[]): string {
  let s = ''
  for (let i = 0; i < septets.length; i++) {
    const v = septets[i]!
    if (v === 0x1b && i + 1 < septets.length) {
      const next = septets[++i]!
      // An unknown extension code shows as its default-table character (23.038 §6.2.1.1).
      s += GSM_EXTENSION[next] ?? GSM_DEFAULT[next]!
    } else if (v === 0x1b) s += ' '
    else s += GSM_DEFAULT[v]!
  }
  return s
}

function semiOctets(b: Uint8Array, digits: number): string {
  let s = ''
  for (let i = 0; i < digits; i++) {
    const nibble = i % 2 === 0 ? b[i >> 1]! & 0x0f : b[i >> 1]! >> 4
    s += '0123456789*#abc'[nibble] ?? ''
  }
  return s
}

function readAddress(r: Reader): string {
  const digits = r.byte('address length')
  const type = r.byte('address type')
  if (digits > 20) throw new PduError('address is longer than 20 digits')
  const body = r.bytes(Math.ceil(digits / 2), 'address')
  if ((type & 0x70) === 0x50) return septetsToText(unpackSeptets(body, Math.floor((digits * 4) / 7)))
  const number = semiOctets(body, digits)
  return (type & 0x70) === 0x10 ? `+${number}` : number
}

function bcd(v: number): number {
  return (v & 0x0f) * 10 + (v >> 4)
}

/** yy MM dd hh mm ss zz as swapped BCD; zz is quarter hours from UTC, bit 3 of its low nibble the sign. */
function readTimestamp(r: Reader): Date | null {
  const t = r.bytes(7, 'time stamp')
  const [yy, mo, dd, hh, mi, ss] = [0, 1, 2, 3, 4, 5].map((i) => bcd(t[i]!)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ]
  const tz = t[6]!
  const quarters = (tz & 0x07) * 10 + (tz >> 4)
  const offsetMin = quarters * 15 * (tz & 0x08 ? -1 : 1)
  if (mo < 1 || mo > 12 || dd < 1 || dd > 31 || hh > 23 || mi > 59 || ss > 59) return null
  const utc = Date.UTC((yy >= 90 ? 1900 : 2000) + yy, mo - 1, dd, hh, mi, ss) - offsetMin * 60_000
  return Number.isNaN(utc) ? null : new Date(utc)
}

type Alphabet = 'gsm7' | '8bit' | 'ucs2'

/** Data coding scheme → alphabet (23.038 §4); compressed text is refused. */
function alphabetOf(dcs: number): Alphabet {
  const group = dcs >> 4
  if (group <= 0x07) {
    if (dcs & 0x20) throw new PduError('compressed SMS text is not supported')
    return (['gsm7', '8bit', 'ucs2', 'gsm7'] as const)[(dcs >> 2) & 3]!
  }
  if (group === 0x0e) return 'ucs2'
  if (group === 0x0f) return dcs & 0x04 ? '8bit' : 'gsm7'
  return 'gsm7'
}

function readConcat(udh: Uint8Array): DeliverPdu['concat'] {
  let concat: DeliverPdu['concat']
  for (let i = 0; i < udh.length; ) {
    const iei = udh[i]!
    const len = udh[i + 1]
    if (len === undefined || i + 2 + len > udh.length) throw new PduError('user data header is truncated')
    const d = udh.subarray(i + 2, i + 2 + len)
    if (iei === 0x00 && len === 3) concat = { ref: d[0]!, total: d[1]!, seq: d[2]! }
    if (iei === 0x08 && len === 4) concat = { ref: (d[0]! << 8) | d[1]!, total: d[2]!, seq: d[3]! }
    i += 2 + len
  }
  if (concat && (concat.total === 0 || concat.seq === 0 || concat.seq > concat.total)) return undefined
  return concat
}

/**
 * Decodes an SMS-DELIVER PDU as a modem lists it (with the SMSC address in front). `tpduLength`, when given, is
 * the length the modem declared (+CMGR/+CMGL), checked against the bytes.
 */
export function decodeDeliver(hex: string, tpduLength?: number): DeliverPdu {
  const r = new Reader(hexToBytes(hex))
  const scaLen = r.byte('SMSC length')
  r.bytes(scaLen, 'SMSC address')
  if (tpduLength !== undefined && r.b.length - r.at !== tpduLength)
    throw new PduError(`modem declared ${tpduLength} octets, the PDU has ${r.b.length - r.at}`)
  const first = r.byte('first octet')
  if ((first & 0x03) !== 0) throw new PduError(`not an SMS-DELIVER (message type ${first & 0x03})`)
  const from = readAddress(r)
  r.byte('protocol identifier')
  const alphabet = alphabetOf(r.byte('data coding scheme'))
  const sentAt = readTimestamp(r)
  const udl = r.byte('user data length')
  const udOctets = alphabet === 'gsm7' ? Math.ceil((udl * 7) / 8) : udl
  const ud = r.bytes(udOctets, 'user data')
  let headerOctets = 0
  let concat: DeliverPdu['concat']
  if (first & 0x40) {
    const udhl = ud[0]
    if (udhl === undefined || udhl + 1 > ud.length) throw new PduError('user data header is truncated')
    concat = readConcat(ud.subarray(1, 1 + udhl))
    headerOctets = udhl + 1
  }
  let text: string
  if (alphabet === 'gsm7') {
    // The header and its fill bits take whole septets at the start of the packed stream.
    const skip = Math.ceil((headerOctets * 8) / 7)
    if (skip > udl) throw new PduError('user data header is longer than the user data')
    text = septetsToText(unpackSeptets(ud, udl).slice(skip))
  } else {
    const body = ud.subarray(headerOctets)
    if (alphabet === 'ucs2') {
      if (body.length % 2 !== 0) throw new PduError('UCS-2 text has an odd number of octets')
      text = Buffer.from(body).swap16().toString('utf16le')
    } else text = Buffer.from(body).toString('latin1')
  }
  return concat ? { from, text, sentAt, concat } : { from, text, sentAt }
}

/** Septets `text` takes in the GSM 7-bit alphabet, or null when a character is not in it. */
export function gsmSeptets(text: string): number | null {
  let n = 0
  for (const ch of text) {
    if (GSM_DEFAULT.includes(ch) && ch !== '\x1b') n++
    else if (GSM_EXTENSION_BY_CHAR.has(ch)) n += 2
    else return null
  }
  return n
}

function packSeptets(septets: number[]): Uint8Array {
  const out = new Uint8Array(Math.ceil((septets.length * 7) / 8))
  septets.forEach((v, i) => {
    const bit = i * 7
    const word = v << (bit & 7)
    out[bit >> 3]! |= word & 0xff
    if (word > 0xff) out[(bit >> 3) + 1]! |= word >> 8
  })
  return out
}

function toSeptets(text: string): number[] {
  const out: number[] = []
  for (const ch of text) {
    const ext = GSM_EXTENSION_BY_CHAR.get(ch)
    if (ext !== undefined) out.push(0x1b, ext)
    else {
      const v = GSM_DEFAULT.indexOf(ch)
      if (v < 0 || ch === '\x1b')
        throw new PduError(`character U+${ch.codePointAt(0)!.toString(16)} is not in GSM 7-bit`)
      out.push(v)
    }
  }
  return out
}

/**
 * Encodes a single-part GSM 7-bit SMS-SUBMIT to `to` (digits, optional leading +), with an empty SMSC field so
 * the SIM's service centre is used. `tpduLength` is what AT+CMGS=<length> takes (octets after the SMSC field).
 */
export function encodeSubmit(to: string, text: string): { hex: string; tpduLength: number } {
  if (!/^\+?[0-9]{1,20}$/.test(to)) throw new PduError('recipient must be digits, optional +')
  const septets = toSeptets(text)
  if (septets.length > 160) throw new PduError('text is longer than one SMS (160 septets)')
  const digits = to.replace(/^\+/, '')
  const swapped = (digits.length % 2 ? `${digits}F` : digits).replace(/(.)(.)/g, '$2$1')
  const tpdu = Buffer.concat([
    // SMS-SUBMIT, no validity period (the network's default), message reference chosen by the modem.
    Buffer.from([0x01, 0x00, digits.length, to.startsWith('+') ? 0x91 : 0x81]),
    Buffer.from(swapped, 'hex'),
    Buffer.from([0x00, 0x00, septets.length]),
    packSeptets(septets),
  ])
  return { hex: `00${tpdu.toString('hex').toUpperCase()}`, tpduLength: tpdu.length }
}
