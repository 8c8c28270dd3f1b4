/**
 * Taking messages off the SIM in PDU mode: read a slot, decode it, join concatenated parts, hand the message to
 * the listeners, and delete its slots only once they all took it (a failing listener leaves it for the next
 * sweep — the journaling-before-delete guarantee). A slot that still cannot be read or decoded after
 * `maxReadAttempts` tries, and the parts of a concatenated message whose other parts never came, are reported
 * (with the raw PDU) and then deleted: one bad message must never stop the others or fill the SIM.
 */
import type { AtRequest } from './at-channel.js'
import { type PduListing, parseCmgl, parseCmgr } from './at-parse.js'
import { ModemError, type SmsMessage } from './modem.js'
import { type DeliverPdu, decodeDeliver, PduError } from './sms-pdu.js'

/** A message the box gave up on and deleted from the SIM. */
export interface DiscardedSms {
  /** SIM slots deleted. */
  indexes: number[]
  reason: 'unreadable' | 'incomplete'
  /** What went wrong, for the operator. */
  detail: string
  /** The raw PDU(s) last read, hex; empty when the modem gave none. */
  pdus: string[]
  /** Reads tried (unreadable) or parts present of the total (incomplete). */
  attempts: number
}

/** What the inbox needs from its modem. */
export interface InboxDeps {
  cmd(req: Omit<AtRequest, 'timeoutMs'>): Promise<string[]>
  /** Hands a message to the listeners; true when all of them took it. */
  deliver(sms: SmsMessage): Promise<boolean>
  /** Runs `fn` in the modem's command sequence (for work started by a timer). */
  serial(fn: () => Promise<void>): Promise<void>
  later(ms: number, fn: () => void): void
  sleep(ms: number): Promise<void>
  onDiscard(d: DiscardedSms): void
  now(): Date
  maxReadAttempts: number
  retryPauseMs: number
  partTimeoutMs: number
}

interface PartGroup {
  from: string
  total: number
  sentAt: Date | null
  parts: Map<number, { index: number; text: string; pdu: string }>
  /** Slots holding a second copy of a part already present (a network resend). */
  duplicates: Set<number>
}

/** 27.005 §3.2.5: +CMS ERROR 321 is "invalid memory index" — an empty slot. */
function isEmptySlot(err: unknown): boolean {
  return err instanceof ModemError && err.code === 'AT_ERROR' && /\+CMS ERROR: 321\b/.test(err.message)
}

function isAtError(err: unknown): boolean {
  return err instanceof ModemError && err.code === 'AT_ERROR'
}

/** Reads, joins, delivers and deletes SMS in SIM storage. */
export class SmsInbox {
  private readonly groups = new Map<string, PartGroup>()

  constructor(private readonly d: InboxDeps) {}

  /** Lists every slot and takes each received message; the parts of unfinished messages stay for later. */
  async sweep(): Promise<void> {
    // The listing is the truth about the SIM: what was remembered of partial messages is rebuilt from it.
    this.groups.clear()
    const listed = parseCmgl(
      await this.d.cmd({ command: 'AT+CMGL=4', pduBodies: true, infoPrefixes: ['+CMGL:'] }),
    )
    for (const entry of listed) if (entry.index !== undefined) await this.take(entry.index, entry)
  }

  /** Takes the message in slot `index` (announced by +CMTI, or listed by a sweep as `listed`). */
  async take(index: number, listed?: PduListing): Promise<void> {
    let detail = ''
    let pdu: string | null = null
    for (let attempt = 1; attempt <= this.d.maxReadAttempts; attempt++) {
      let entry = attempt === 1 ? listed : undefined
      if (!entry) {
        if (attempt > 1) await this.d.sleep(this.d.retryPauseMs)
        try {
          const read = parseCmgr(
            await this.d.cmd({ command: `AT+CMGR=${index}`, pduBodies: true, infoPrefixes: ['+CMGR:'] }),
          )
          // Some modems answer a bare OK for an empty slot.
          if (!read) return
          entry = read
        } catch (err) {
          if (isEmptySlot(err)) return
          // A timeout means the modem, not the message, is in trouble: recovery handles that.
          if (!isAtError(err)) throw err
          detail = (err as Error).message
          continue
        }
      }
      // Stored outgoing messages (stat 2, 3) are not the box's to deliver or delete.
      if (entry.stat > 1) return
      pdu = entry.pdu
      if (pdu === null) {
        detail = 'the modem listed the slot without a PDU'
        continue
      }
      let sms: DeliverPdu
      try {
        sms = decodeDeliver(pdu, entry.length)
      } catch (err) {
        if (!(err instanceof PduError)) throw err
        detail = err.message
        continue
      }
      await this.accept(index, pdu, sms)
      return
    }
    await this.discard({
      indexes: [index],
      reason: 'unreadable',
      detail,
      pdus: pdu === null ? [] : [pdu],
      attempts: this.d.maxReadAttempts,
    })
  }

  private async accept(index: number, pdu: string, sms: DeliverPdu): Promise<void> {
    const receivedAt = sms.sentAt ?? this.d.now()
    if (!sms.concat || sms.concat.total === 1) {
      if (await this.d.deliver({ from: sms.from, text: sms.text, receivedAt })) await this.delete([index])
      return
    }
    const { ref, total, seq } = sms.concat
    const key = `${sms.from}\n${ref}\n${total}`
    let g = this.groups.get(key)
    if (!g) {
      g = { from: sms.from, total, sentAt: sms.sentAt, parts: new Map(), duplicates: new Set() }
      this.groups.set(key, g)
      const group = g
      this.d.later(this.d.partTimeoutMs, () => {
        this.d.serial(() => this.expire(key, group)).catch(() => {})
      })
    }
    const have = g.parts.get(seq)
    if (have && have.index !== index) g.duplicates.add(index)
    else g.parts.set(seq, { index, text: sms.text, pdu })
    if (seq === 1 && sms.sentAt) g.sentAt = sms.sentAt
    if (g.parts.size < total) return
    this.groups.delete(key)
    let text = ''
    for (let s = 1; s <= total; s++) text += g.parts.get(s)!.text
    const ok = await this.d.deliver({ from: g.from, text, receivedAt: g.sentAt ?? receivedAt })
    if (ok) await this.delete([...[...g.parts.values()].map((p) => p.index), ...g.duplicates])
  }

  /** Gives up on a concatenated message whose parts did not all arrive in time. */
  private async expire(key: string, group: PartGroup): Promise<void> {
    if (this.groups.get(key) !== group) return
    this.groups.delete(key)
    const parts = [...group.parts.entries()].sort(([a], [b]) => a - b)
    await this.discard({
      indexes: [...parts.map(([, p]) => p.index), ...group.duplicates],
      reason: 'incomplete',
      detail: `parts ${parts.map(([s]) => s).join(',')} of ${group.total} from ${group.from}; the rest never came`,
      pdus: parts.map(([, p]) => p.pdu),
      attempts: parts.length,
    })
  }

  /** Reports first, so the raw PDU is on record even if the power goes before the delete. */
  private async discard(d: DiscardedSms): Promise<void> {
    this.d.onDiscard(d)
    await this.delete(d.indexes)
  }

  private async delete(indexes: number[]): Promise<void> {
    for (const i of indexes) {
      await this.d.cmd({ command: `AT+CMGD=${i}` }).catch((err) => {
        // Already gone is what we wanted.
        if (!isEmptySlot(err)) throw err
      })
    }
  }

  /** Forgets partial messages (at stop; the next start's sweep finds them on the SIM again). */
  clear(): void {
    this.groups.clear()
  }
}
