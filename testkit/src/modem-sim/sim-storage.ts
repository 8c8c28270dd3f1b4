/**
 * The simulated SIM's message storage and, in front of it, the network's service centre. A message for a full
 * SIM is not lost: like a real SMSC it waits and is delivered once the SIM reports memory available again
 * (3GPP TS 24.011 RP-SMMA, which the modem sends by itself when a slot is freed).
 */

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
