/**
 * Pure parsers for the AT responses and unsolicited result codes (URCs) the SMS modem speaks (3GPP TS 27.005 /
 * 27.007, PDU mode). No I/O, so every odd line seen from a real modem can become a unit test.
 */

/** One message slot as +CMGR / +CMGL list it in PDU mode: the header's fields and the hex body after it. */
export interface PduListing {
  /** Storage index (+CMGL only; +CMGR answers for the index it was asked). */
  index?: number
  /** 0 received unread, 1 received read, 2 stored unsent, 3 stored sent (27.005 §3.1). */
  stat: number
  /** TPDU octets the modem declares (the SMSC field not counted). */
  length: number
  /** The PDU in hex, or null when the modem sent a header with no body. */
  pdu: string | null
}

/** Splits `a,"b,c",d` into fields, removing the quotes; commas inside quotes stay. */
export function splitFields(s: string): string[] {
  const out: string[] = []
  let cur = ''
  let quoted = false
  for (const ch of s) {
    if (ch === '"') quoted = !quoted
    else if (ch === ',' && !quoted) {
      out.push(cur.trim())
      cur = ''
    } else cur += ch
  }
  out.push(cur.trim())
  return out
}

function body(line: string, prefix: string): string | null {
  return line.startsWith(prefix) ? line.slice(prefix.length).trim() : null
}

/** `+CREG: <n>,<stat>[,…]` (answer) or `+CREG: <stat>` (URC) → stat. */
export function parseCreg(lines: string[]): number | null {
  for (const l of lines) {
    const b = body(l, '+CREG:')
    if (b === null) continue
    const f = splitFields(b)
    const stat = Number(f.length >= 2 ? f[1] : f[0])
    return Number.isInteger(stat) ? stat : null
  }
  return null
}

/** `+CSQ: <rssi>,<ber>` → rssi. */
export function parseCsq(lines: string[]): number | null {
  for (const l of lines) {
    const b = body(l, '+CSQ:')
    if (b === null) continue
    const rssi = Number(splitFields(b)[0])
    return Number.isInteger(rssi) ? rssi : null
  }
  return null
}

/** `+CMTI: "SM",3` → { mem: 'SM', index: 3 }. */
export function parseCmti(line: string): { mem: string; index: number } | null {
  const b = body(line, '+CMTI:')
  if (b === null) return null
  const [mem, idx] = splitFields(b)
  const index = Number(idx)
  return mem !== undefined && Number.isInteger(index) && index >= 0 ? { mem, index } : null
}

/** `+CMGS: <mr>` → message reference. */
export function parseCmgs(lines: string[]): number | null {
  for (const l of lines) {
    const b = body(l, '+CMGS:')
    if (b === null) continue
    const mr = Number(splitFields(b)[0])
    return Number.isInteger(mr) ? mr : null
  }
  return null
}

/** `+CMGR: <stat>,[<alpha>],<length>` followed by the PDU line. */
export function parseCmgr(lines: string[]): PduListing | null {
  const i = lines.findIndex((l) => l.startsWith('+CMGR:'))
  if (i < 0) return null
  const f = splitFields(body(lines[i]!, '+CMGR:')!)
  const stat = Number(f[0])
  const length = Number(f.at(-1))
  if (f.length < 2 || !Number.isInteger(stat) || !Number.isInteger(length)) return null
  const next = lines[i + 1]
  return { stat, length, pdu: next !== undefined && !next.startsWith('+') ? next : null }
}

/** `+CMGL: <index>,<stat>,[<alpha>],<length>` entries, each followed by its PDU line. */
export function parseCmgl(lines: string[]): PduListing[] {
  const out: PduListing[] = []
  for (let i = 0; i < lines.length; i++) {
    const b = body(lines[i]!, '+CMGL:')
    if (b === null) continue
    const f = splitFields(b)
    const index = Number(f[0])
    const stat = Number(f[1])
    const length = Number(f.at(-1))
    if (f.length < 3 || ![index, stat, length].every(Number.isInteger)) continue
    const next = lines[i + 1]
    const pdu = next !== undefined && !next.startsWith('+CMGL:') ? next : null
    if (pdu !== null) i++
    out.push({ index, stat, length, pdu })
  }
  return out
}
