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

/**
 * Builds the SMS-DELIVER PDU(s) for `text` from `from` (with an SMSC address in front, as a modem lists them).
 * One PDU for up to 160 septets / 70 UCS-2 units, else concatenated parts of 153 septets / 67 units.
 */
export function encodeDeliver(from: string, text: string, o: DeliverOptions = {}): string[] {
  const at = o.at ?? new Date()
  const septets = o.encoding === 'ucs2' ? null : septetsOf(text)
  if (o.encoding === 'gsm7' && !septets) throw new Error('text has characters outside GSM 7-bit')
  const sca = [0x07, 0x91, 0x94, 0x71, 0x01, 0x00, 0x00, 0xf0] // +491710000 0
  const head = (udhi: boolean, dcs: number) => [
    ...sca,
    udhi ? 0x44 : 0x04,
    ...address(from),
    0x00,
    dcs,
    ...timestamp(at),
  ]
  const ref = (o.ref ?? Math.floor(Math.random() * 256)) & 0xff
  if (septets) {
    if (septets.length <= 160) return [hex([...head(false, 0x00), septets.length, ...pack(septets)])]
    const parts: number[][] = []
    for (let i = 0; i < septets.length; ) {
      // Never split an escape from the character it introduces.
      let end = Math.min(i + 153, septets.length)
      if (septets[end - 1] === 0x1b && end < septets.length) end--
      parts.push(septets.slice(i, end))
      i = end
    }
    return parts.map((p, k) => {
      const udh = [0x05, 0x00, 0x03, ref, parts.length, k + 1]
      // Six header octets are 48 bits: one fill bit aligns the text to the next septet (7 septets in all).
      return hex([...head(true, 0x00), 7 + p.length, ...udh, ...pack(p, 1)])
    })
  }
  const units: number[] = []
  for (let i = 0; i < text.length; i++) units.push(text.charCodeAt(i))
  const ucs2 = (u: number[]) => u.flatMap((c) => [c >> 8, c & 0xff])
  if (units.length <= 70) return [hex([...head(false, 0x08), units.length * 2, ...ucs2(units)])]
  const parts: number[][] = []
  for (let i = 0; i < units.length; ) {
    let end = Math.min(i + 67, units.length)
    // Keep a surrogate pair in one part.
    if (end < units.length && units[end - 1]! >= 0xd800 && units[end - 1]! <= 0xdbff) end--
    parts.push(units.slice(i, end))
    i = end
  }
  return parts.map((p, k) => {
    const udh = [0x05, 0x00, 0x03, ref, parts.length, k + 1]
    return hex([...head(true, 0x08), 6 + p.length * 2, ...udh, ...ucs2(p)])
  })
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
