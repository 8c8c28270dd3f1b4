/**
 * The network's side of SMS PDUs (3GPP TS 23.040 / 23.038) for the modem simulator: it builds the SMS-DELIVER
 * PDUs an SMSC would put on the SIM — GSM 7-bit when every character fits, else UCS-2; long texts split into
 * concatenated parts with an 8-bit reference like most SMSCs — and reads the SMS-SUBMIT PDUs the host sends.
 * Written separately from the box's codec on purpose, so the two check each other.
 */

const DEFAULT_ALPHABET =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà'
const EXTENSION = '\f^{}\\[~]|€'
const EXTENSION_CODES = [0x0a, 0x14, 0x28, 0x29, 0x2f, 0x3c, 0x3d, 0x3e, 0x40, 0x65]

/** How the text of a delivered SMS is encoded. */
export type SmsEncoding = 'gsm7' | 'ucs2'

/** Options of `encodeDeliver`. */
export interface DeliverOptions {
  /** Service-centre time stamp (default now). */
  at?: Date
  /** Force an alphabet; default GSM 7-bit when every character has a septet, else UCS-2. */
  encoding?: SmsEncoding
  /** Concatenation reference for a long text (default random 0..255). */
  ref?: number
}

function septetsOf(text: string): number[] | null {
  const out: number[] = []
  for (const ch of text) {
    const e = EXTENSION.indexOf(ch)
    if (e >= 0) out.push(0x1b, EXTENSION_CODES[e]!)
    else {
      const v = DEFAULT_ALPHABET.indexOf(ch)
      if (v < 0 || ch === '\x1b') return null
      out.push(v)
    }
  }
  return out
}

/** Packs septets after `fillBits` zero bits, LSB first. */
function pack(septets: number[], fillBits = 0): number[] {
  const out: number[] = []
  let acc = 0
  let bits = fillBits
  for (const v of septets) {
    acc |= v << bits
    bits += 7
    while (bits >= 8) {
      out.push(acc & 0xff)
      acc >>>= 8
      bits -= 8
    }
  }
  if (bits > 0) out.push(acc & 0xff)
  return out
}

function bcdPair(n: number): number {
  return ((n % 10) << 4) | Math.floor(n / 10)
}

function address(from: string): number[] {
  if (/^\+?[0-9]+$/.test(from)) {
    const digits = from.replace(/^\+/, '')
    const nibbles = [...digits].map(Number)
    if (nibbles.length % 2) nibbles.push(0xf)
    const body: number[] = []
    for (let i = 0; i < nibbles.length; i += 2) body.push(nibbles[i]! | (nibbles[i + 1]! << 4))
    return [digits.length, from.startsWith('+') ? 0x91 : 0x81, ...body]
  }
  // Alphanumeric sender (an operator or a bank): GSM 7-bit, length in semi-octets.
  const septets = septetsOf(from) ?? septetsOf('?')!
  const body = pack(septets)
  return [Math.ceil((septets.length * 7) / 4), 0xd0, ...body]
}

function timestamp(d: Date): number[] {
  return [
    d.getUTCFullYear() % 100,
    d.getUTCMonth() + 1,
    d.getUTCDate(),
    d.getUTCHours(),
    d.getUTCMinutes(),
    d.getUTCSeconds(),
    0,
  ].map(bcdPair)
}

function hex(bytes: number[]): string {
  return Buffer.from(bytes).toString('hex').toUpperCase()
}

/** Cuts `text` into pieces of at most `limit` units, never inside a character (`cost` gives its units). */
function splitText(text: string, limit: number, cost: (ch: string) => number): string[] {
  const parts: string[] = []
  let cur = ''
  let n = 0
  for (const ch of text) {
    if (n + cost(ch) > limit) {
      parts.push(cur)
      cur = ''
      n = 0
    }
    cur += ch
    n += cost(ch)
  }
  parts.push(cur)
  return parts
}

/** One PDU and the part of the text it carries. */
export interface DeliverPart {
  pdu: string
  text: string
}

/**
 * Builds the SMS-DELIVER PDU(s) for `text` from `from` (with an SMSC address in front, as a modem lists them),
 * with the text each carries. One PDU for up to 160 septets / 70 UCS-2 units, else concatenated parts of 153
 * septets / 67 units; an escaped character or a surrogate pair is never cut in two.
 */
export function encodeDeliverParts(from: string, text: string, o: DeliverOptions = {}): DeliverPart[] {
  const at = o.at ?? new Date()
  const gsm = o.encoding !== 'ucs2' && septetsOf(text) !== null
  if (o.encoding === 'gsm7' && !gsm) throw new Error('text has characters outside GSM 7-bit')
  const sca = [0x07, 0x91, 0x94, 0x71, 0x01, 0x00, 0x00, 0xf0] // +49171000000
  const dcs = gsm ? 0x00 : 0x08
  const head = (udhi: boolean) => [...sca, udhi ? 0x44 : 0x04, ...address(from), 0x00, dcs, ...timestamp(at)]
  const cost = gsm ? (ch: string) => septetsOf(ch)!.length : (ch: string) => ch.length
  const single = gsm ? 160 : 70
  const pieces = splitText(text, single, cost).length === 1 ? [text] : splitText(text, gsm ? 153 : 67, cost)
  const ref = (o.ref ?? Math.floor(Math.random() * 256)) & 0xff
  return pieces.map((piece, k) => {
    const udh = pieces.length > 1 ? [0x05, 0x00, 0x03, ref, pieces.length, k + 1] : []
    let ud: number[]
    let udl: number
    if (gsm) {
      const septets = septetsOf(piece)!
      // Six header octets are 48 bits: one fill bit aligns the text to the next septet (7 septets in all).
      ud = [...udh, ...pack(septets, udh.length ? 1 : 0)]
      udl = (udh.length ? 7 : 0) + septets.length
    } else {
      const units: number[] = []
      for (let i = 0; i < piece.length; i++) units.push(piece.charCodeAt(i))
      ud = [...udh, ...units.flatMap((c) => [c >> 8, c & 0xff])]
      udl = ud.length
    }
    return { pdu: hex([...head(udh.length > 0), udl, ...ud]), text: piece }
  })
}

/** The PDUs of `encodeDeliverParts`. */
export function encodeDeliver(from: string, text: string, o: DeliverOptions = {}): string[] {
  return encodeDeliverParts(from, text, o).map((p) => p.pdu)
}

/** An SMS-SUBMIT as the host sent it. */
export interface SubmitPdu {
  to: string
  text: string
}

/** Reads a single-part GSM 7-bit or UCS-2 SMS-SUBMIT (SMSC field in front); throws on anything malformed. */
export function decodeSubmit(pduHex: string): SubmitPdu {
  if (!/^(?:[0-9A-Fa-f]{2})+$/.test(pduHex)) throw new Error('not hex')
  const b = [...Buffer.from(pduHex, 'hex')]
  let i = 1 + b[0]!
  const first = b[i++]!
  if ((first & 0x03) !== 1) throw new Error('not an SMS-SUBMIT')
  i++ // message reference
  const digits = b[i++]!
  const type = b[i++]!
  let to = ''
  for (let k = 0; k < digits; k++) to += String((b[i + (k >> 1)]! >> (k % 2 ? 4 : 0)) & 0x0f)
  i += Math.ceil(digits / 2)
  if ((type & 0x70) === 0x10) to = `+${to}`
  i++ // protocol identifier
  const dcs = b[i++]!
  const vpf = (first >> 3) & 3
  i += vpf === 2 ? 1 : vpf === 0 ? 0 : 7
  const udl = b[i++]!
  const ud = b.slice(i)
  if ((dcs & 0x0c) === 0x08) {
    if (ud.length !== udl) throw new Error('UCS-2 length mismatch')
    return { to, text: Buffer.from(ud).swap16().toString('utf16le') }
  }
  if (ud.length !== Math.ceil((udl * 7) / 8)) throw new Error('GSM 7-bit length mismatch')
  let text = ''
  let escaped = false
  for (let k = 0; k < udl; k++) {
    const bit = k * 7
    const v = ((((ud[(bit >> 3) + 1] ?? 0) << 8) | ud[bit >> 3]!) >> (bit & 7)) & 0x7f
    if (escaped) {
      const e = EXTENSION_CODES.indexOf(v)
      text += e >= 0 ? EXTENSION[e]! : DEFAULT_ALPHABET[v]!
      escaped = false
    } else if (v === 0x1b) escaped = true
    else text += DEFAULT_ALPHABET[v]!
  }
  return { to, text }
}
