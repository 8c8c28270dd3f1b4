/**
 * The summary a segment's seal carries: one column per field (typed arrays, and a table for the strings that
 * repeat), so that start-up reads a sealed segment's 8,000-odd records with a handful of allocations instead
 * of several objects per record.
 */
import type { ReplayItem } from './codec.js'
import type { NoticeRecord, PaymentSummary, VaultRecord } from './types.js'

const PAYMENT = 1
const SYNCED = 2
const NOTICE = 3
const REFUSED = 5

/** Built while a segment is written (or replayed), encoded into its seal when it is full. */
export class SealColumns {
  readonly #kinds: number[] = []
  readonly #strings: string[] = []
  readonly #stringIx = new Map<string, number>()
  readonly #txIds: string[] = []
  readonly #wallet: number[] = []
  readonly #purse: number[] = []
  readonly #currency: number[] = []
  readonly #counter: number[] = []
  readonly #amount: number[] = []
  readonly #acceptedAt: number[] = []
  readonly #ble: number[] = []
  readonly #off: number[] = []
  readonly #len: number[] = []
  readonly #synced: string[][] = []
  readonly #notices: unknown[][] = []
  readonly #refused: string[][][] = []

  /** Records summarised so far. */
  get length(): number {
    return this.#kinds.length
  }

  #str(s: string): number {
    let i = this.#stringIx.get(s)
    if (i === undefined) {
      i = this.#strings.length
      this.#strings.push(s)
      this.#stringIx.set(s, i)
    }
    return i
  }

  /** Summarise the record written at `off` (frame length `len`). */
  add(rec: VaultRecord, off: number, len: number): void {
    if (rec.kind === 'payment') {
      this.#kinds.push(PAYMENT)
      this.#txIds.push(rec.txId)
      this.#wallet.push(this.#str(rec.walletId))
      this.#purse.push(rec.purseId === undefined ? -1 : this.#str(rec.purseId))
      this.#currency.push(this.#str(rec.currency))
      this.#counter.push(rec.counter)
      this.#amount.push(rec.amount)
      this.#acceptedAt.push(rec.acceptedAt)
      this.#ble.push(rec.channel === 'ble' ? 1 : 0)
      this.#off.push(off)
      this.#len.push(len)
    } else if (rec.kind === 'synced') {
      this.#kinds.push(SYNCED)
      this.#synced.push(rec.txIds)
    } else if (rec.kind === 'refused') {
      this.#kinds.push(REFUSED)
      this.#refused.push(rec.items.map((i) => [i.txId, i.code]))
    } else {
      this.#kinds.push(NOTICE)
      this.#notices.push([rec.ref, rec.amount, rec.currency, rec.counter, rec.via, rec.receivedAt])
    }
  }

  /** The CBOR-ready form (typed arrays encode as RFC 8746 typed arrays). */
  toCbor(): unknown[] {
    return [
      Uint8Array.from(this.#kinds),
      this.#strings,
      this.#txIds,
      Uint32Array.from(this.#wallet),
      Int32Array.from(this.#purse),
      Uint32Array.from(this.#currency),
      Float64Array.from(this.#counter),
      Float64Array.from(this.#amount),
      Float64Array.from(this.#acceptedAt),
      Uint8Array.from(this.#ble),
      Uint32Array.from(this.#off),
      Uint32Array.from(this.#len),
      this.#synced,
      this.#notices,
      this.#refused,
    ]
  }
}

/** Records summarised in a decoded seal (its `kinds` column), or -1 if it is not one. */
export function sealCount(cols: unknown): number {
  return Array.isArray(cols) && cols[0] instanceof Uint8Array ? cols[0].length : -1
}

/**
 * Hand each summarised record to `apply` in order. The seal was authenticated, so only its shape is
 * checked; a malformed one throws. A payment's item is reused for the next one: `apply` must copy it.
 */
export function replaySeal(
  cols: unknown[],
  apply: (item: ReplayItem, off: number, len: number) => void,
): void {
  const [
    kinds,
    strings,
    txIds,
    wallet,
    purse,
    currency,
    counter,
    amount,
    acceptedAt,
    ble,
    off,
    len,
    synced,
    notices,
    refused = [],
  ] = cols as [
    Uint8Array,
    string[],
    string[],
    Uint32Array,
    Int32Array,
    Uint32Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Uint8Array,
    Uint32Array,
    Uint32Array,
    string[][],
    unknown[][],
    string[][][]?,
  ]
  if (!(kinds instanceof Uint8Array) || !Array.isArray(strings) || !Array.isArray(txIds)) {
    throw new Error('malformed seal')
  }
  let p = 0
  let s = 0
  let n = 0
  let r = 0
  // One summary object for every payment of the seal, refilled in place: `apply` copies what it keeps (the
  // index stores columns), and 8,000-odd short-lived objects per segment were a third of start-up's GC time.
  const summary: PaymentSummary = {
    txId: '',
    walletId: '',
    purseId: undefined,
    counter: 0,
    amount: 0,
    currency: '',
    acceptedAt: 0,
    channel: 'qr',
    synced: false,
  }
  const item: ReplayItem = { kind: 'payment', summary }
  for (const kind of kinds) {
    if (kind === PAYMENT) {
      const purseIx = purse[p]!
      summary.txId = txIds[p]!
      summary.walletId = strings[wallet[p]!]!
      summary.purseId = purseIx < 0 ? undefined : strings[purseIx]
      summary.counter = counter[p]!
      summary.amount = amount[p]!
      summary.currency = strings[currency[p]!]!
      summary.acceptedAt = acceptedAt[p]!
      summary.channel = ble[p] ? 'ble' : 'qr'
      apply(item, off[p]!, len[p]!)
      p++
    } else if (kind === SYNCED) {
      apply({ kind: 'synced', txIds: synced[s++]! }, -1, -1)
    } else if (kind === REFUSED) {
      const items = refused[r++]!.map(([txId, code]) => ({ txId: txId!, code: code! }))
      apply({ kind: 'refused', items }, -1, -1)
    } else if (kind === NOTICE) {
      const [ref, amt, cur, ctr, via, receivedAt] = notices[n++]!
      const rec = { kind: 'notice', ref, amount: amt, currency: cur, counter: ctr, via, receivedAt }
      apply(rec as NoticeRecord, -1, -1)
    } else throw new Error(`unknown record kind ${kind} in seal`)
  }
}
