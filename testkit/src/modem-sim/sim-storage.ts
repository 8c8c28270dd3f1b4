/**
 * The simulated SIM's message storage and, in front of it, the network's service centre. A message for a full
 * SIM is not lost: like a real SMSC it waits and is delivered once the SIM reports memory available again
 * (3GPP TS 24.011 RP-SMMA, which the modem sends by itself when a slot is freed).
 */
import { type DeliverOptions, encodeDeliverParts } from './pdu-codec.js'

/** 27.005 message status, as text mode names it. */
export type SmsStatus = 'REC UNREAD' | 'REC READ' | 'STO UNSENT' | 'STO SENT'

/** The numeric form PDU mode uses. */
export const STATUS_CODE: Record<SmsStatus, number> = {
  'REC UNREAD': 0,
  'REC READ': 1,
  'STO UNSENT': 2,
  'STO SENT': 3,
}

/** One message (or one part of a concatenated one) in a SIM slot. */
export interface StoredSms {
  index: number
  status: SmsStatus
  from: string
  /** The text of this part as text mode shows it ('' for a PDU the network sent raw). */
  text: string
  /** Service-centre timestamp as text mode prints it: yy/MM/dd,hh:mm:ss±zz (zz in quarter hours). */
  scts: string
  /** The PDU as PDU mode lists it (SMSC field first), hex. */
  pdu: string
  /** TPDU octets the modem declares for it (normally the PDU's length minus its SMSC field). */
  length: number
}

/** A message as the network hands it over. */
export type IncomingSms = Omit<StoredSms, 'index' | 'status'>

/** Slots 0..capacity-1, and the service centre's queue for when they are all taken. */
export class SimStorage {
  private readonly slots = new Map<number, StoredSms>()
  private readonly smsc: IncomingSms[] = []

  constructor(
    readonly capacity: number,
    /** Called for each message that lands in a slot (the modem announces it with +CMTI). */
    private readonly onStored: (index: number) => void,
  ) {}

  get used(): number {
    return this.slots.size
  }

  get full(): boolean {
    return this.slots.size >= this.capacity
  }

  /** Messages waiting at the service centre for room on the SIM. */
  get waiting(): number {
    return this.smsc.length
  }

  /** Stores a received message, or queues it at the service centre when the SIM is full; index or -1. */
  receive(m: IncomingSms): number {
    if (this.full || this.smsc.length > 0) {
      this.smsc.push(m)
      return -1
    }
    return this.put(m, 'REC UNREAD')
  }

  /** Stores a message the host wrote (AT+CMGW); null when full. */
  write(m: IncomingSms): number | null {
    return this.full ? null : this.put(m, 'STO UNSENT')
  }

  /** Encodes `text` as an SMSC would (see `encodeDeliver`) and receives each part, in `order` if given. */
  deliverText(
    from: string,
    text: string,
    at: Date,
    opts: Omit<DeliverOptions, 'at'> & { order?: number[] },
  ): number {
    const parts = encodeDeliverParts(from, text, { ...opts, at })
    let first = -1
    for (const seq of opts.order ?? parts.map((_, i) => i + 1)) {
      const { pdu, text: part } = parts[seq - 1]!
      const index = this.receive({ from, text: part, scts: formatScts(at), pdu, length: tpduLength(pdu) })
      if (first < 0) first = index
    }
    return first
  }

  /** Receives a raw PDU; `length` overrides the TPDU length the modem will declare for it. */
  deliverPdu(pdu: string, opts: { from?: string; length?: number; at?: Date }): number {
    const scts = formatScts(opts.at ?? new Date())
    return this.receive({
      from: opts.from ?? '',
      text: '',
      scts,
      pdu,
      length: opts.length ?? tpduLength(pdu),
    })
  }

  get(index: number): StoredSms | undefined {
    return this.slots.get(index)
  }

  list(): StoredSms[] {
    return [...this.slots.values()].sort((a, b) => a.index - b.index)
  }

  /** Frees a slot; the service centre then delivers what was waiting. */
  delete(index: number): boolean {
    if (!this.slots.delete(index)) return false
    while (!this.full && this.smsc.length > 0) this.put(this.smsc.shift()!, 'REC UNREAD')
    return true
  }

  private put(m: IncomingSms, status: SmsStatus): number {
    let index = 0
    while (this.slots.has(index)) index++
    this.slots.set(index, { ...m, index, status })
    if (status === 'REC UNREAD') this.onStored(index)
    return index
  }
}

/** Formats a Date as the modem's service-centre timestamp (UTC, zone +00). */
export function formatScts(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0')
  return `${p(d.getUTCFullYear() % 100)}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())},${p(d.getUTCHours())}:${p(
    d.getUTCMinutes(),
  )}:${p(d.getUTCSeconds())}+00`
}

/** TPDU octets of a PDU listed with its SMSC field (what +CMGR/+CMGL and AT+CMGS=<length> count). */
export function tpduLength(pduHex: string): number {
  const sca = Number.parseInt(pduHex.slice(0, 2), 16)
  return Math.max(0, pduHex.length / 2 - 1 - (Number.isNaN(sca) ? 0 : sca))
}

/** A slot as +CMGR/+CMGL show it: a header and the text lines (text mode) or the hex PDU (PDU mode). */
export function listing(prefix: '+CMGR:' | '+CMGL:', m: StoredSms, textMode: boolean): string[] {
  const index = prefix === '+CMGL:' ? `${m.index},` : ''
  if (textMode) return [`${prefix} ${index}"${m.status}","${m.from}","","${m.scts}"`, ...m.text.split('\n')]
  return [`${prefix} ${index}${STATUS_CODE[m.status]},,${m.length}`, m.pdu]
}

/** The status filter of AT+CMGL: quoted names in text mode, 0..4 in PDU mode; null for a bad argument. */
export function listFilter(arg: string | undefined, textMode: boolean): ((s: SmsStatus) => boolean) | null {
  if (textMode) {
    const which = arg === undefined ? 'REC UNREAD' : /^"([A-Z ]+)"$/.exec(arg)?.[1]
    return which === undefined ? null : (s) => which === 'ALL' || s === which
  }
  if (!/^[0-4]?$/.test(arg ?? '')) return null
  const n = arg ? Number(arg) : 0
  return (s) => n === 4 || STATUS_CODE[s] === n
}
