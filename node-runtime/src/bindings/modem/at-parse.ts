/**
 * Pure parsers for the AT responses and unsolicited result codes (URCs) the SMS modem speaks (3GPP TS 27.005 /
 * 27.007, text mode). No I/O, so every odd line seen from a real modem can become a unit test.
 */

/** A text-mode SMS as listed by +CMGR / +CMGL. */
export interface ParsedSms {
  index?: number
  status: string
  from: string
  scts: string
  text: string
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

/** `+CMGR: <stat>,<oa>,[<alpha>],<scts>` followed by the text lines. */
export function parseCmgr(lines: string[]): ParsedSms | null {
  const i = lines.findIndex((l) => l.startsWith('+CMGR:'))
  if (i < 0) return null
  const f = splitFields(body(lines[i]!, '+CMGR:')!)
  if (f.length < 2) return null
  return { status: f[0]!, from: f[1]!, scts: smsTimestampField(f, 3), text: lines.slice(i + 1).join('\n') }
}

/** `+CMGL: <index>,<stat>,<oa>,[<alpha>],<scts>` entries, each followed by its text lines. */
export function parseCmgl(lines: string[]): ParsedSms[] {
  const out: ParsedSms[] = []
  let cur: (ParsedSms & { lines: string[] }) | null = null
  for (const l of lines) {
    const b = body(l, '+CMGL:')
    if (b !== null) {
      if (cur) out.push(finish(cur))
      const f = splitFields(b)
      const index = Number(f[0])
      cur = Number.isInteger(index)
        ? { index, status: f[1] ?? '', from: f[2] ?? '', scts: smsTimestampField(f, 4), text: '', lines: [] }
        : null
    } else if (cur) cur.lines.push(l)
  }
  if (cur) out.push(finish(cur))
  return out

  function finish(p: ParsedSms & { lines: string[] }): ParsedSms {
    const { lines: textLines, ...rest } = p
    return { ...rest, text: textLines.join('\n') }
  }
}

/** The timestamp is quoted "yy/MM/dd,hh:mm:ss±zz", so the field splitter keeps it in one piece at `at`. */
function smsTimestampField(f: string[], at: number): string {
  return f[at] ?? ''
}

/**
 * Parses a service-centre timestamp "yy/MM/dd,hh:mm:ss±zz" (zz = quarter hours from UTC) into a Date.
 * Returns null for anything else, so callers fall back to their own clock.
 */
export function parseScts(s: string): Date | null {
  const m = /^(\d{2})\/(\d{2})\/(\d{2}),(\d{2}):(\d{2}):(\d{2})([+-])(\d{1,2})$/.exec(s.trim())
  if (!m) return null
  const [, yy, mo, dd, hh, mi, ss, sign, qq] = m
  const utc = Date.UTC(2000 + Number(yy), Number(mo) - 1, Number(dd), Number(hh), Number(mi), Number(ss))
  const offsetMin = Number(qq) * 15 * (sign === '-' ? -1 : 1)
  const d = new Date(utc - offsetMin * 60_000)
  return Number.isNaN(d.getTime()) ? null : d
}
