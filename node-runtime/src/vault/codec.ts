/**
 * Plaintext layout of journal records (before encryption): a CBOR array whose first item is the kind. Arrays
 * rather than maps keep field names off flash and records small. Also validates records on the way in.
 */
import { Encoder } from 'cbor-x'
import {
  type NoticeRecord,
  type PaymentRecord,
  type PaymentSummary,
  type RefusedRecord,
  type SyncedRecord,
  VaultError,
  type VaultRecord,
} from './types.js'

const cbor = new Encoder({ useRecords: false, tagUint8Array: false })

const KIND_PAYMENT = 1
const KIND_SYNCED = 2
const KIND_NOTICE = 3
const KIND_SEAL = 4
const KIND_REFUSED = 5

/**
 * The last frame of a full segment: an HMAC of every byte before it and the summary of each record in it
 * (seal.ts), so start-up can check a sealed segment with one HMAC pass instead of decrypting every record.
 */
export interface SealRecord {
  kind: 'seal'
  hmac: Uint8Array
  firstSeq: number
  firstPrevTag: Uint8Array
  /** Decoded `SealColumns.toCbor()`. */
  columns: unknown[]
}

/** What replay hands on for each record: payments as summaries (token and receipt stay on flash). */
export type ReplayItem =
  | { kind: 'payment'; summary: PaymentSummary }
  | SyncedRecord
  | RefusedRecord
  | NoticeRecord

/** A plain Uint8Array view of decoded bytes (no copy: the decoded plaintext belongs to this record alone). */
function bytes(v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new Error('expected bytes')
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
}

/** Serialise a record. */
export function encodeRecord(rec: VaultRecord): Uint8Array {
  switch (rec.kind) {
    case 'payment':
      return cbor.encode([
        KIND_PAYMENT,
        rec.txId,
        rec.walletId,
        rec.counter,
        rec.amount,
        rec.currency,
        rec.merchantId,
        rec.deviceId,
        rec.acceptedAt,
        rec.channel,
        rec.token,
        rec.receipt,
        rec.purseId ?? null,
      ])
    case 'synced':
      return cbor.encode([KIND_SYNCED, rec.txIds])
    case 'refused':
      return cbor.encode([KIND_REFUSED, rec.items.map((i) => [i.txId, i.code])])
    case 'notice':
      return cbor.encode([
        KIND_NOTICE,
        rec.ref,
        rec.amount,
        rec.currency,
        rec.counter,
        rec.via,
        rec.receivedAt,
      ])
  }
}

/** Parse a record written by `encodeRecord`. Throws on anything else (the caller wraps it as `corrupt`). */
export function decodeRecord(plain: Uint8Array): VaultRecord {
  const rec = decodeFrame(plain)
  if (rec.kind === 'seal') throw new Error('unexpected seal record')
  return rec
}

export function encodeSeal(s: SealRecord): Uint8Array {
  return cbor.encode([KIND_SEAL, s.hmac, s.firstSeq, s.firstPrevTag, s.columns])
}

/** Parse any frame's plaintext, seals included. */
export function decodeFrame(plain: Uint8Array): VaultRecord | SealRecord {
  const a = cbor.decode(plain) as unknown[]
  if (!Array.isArray(a)) throw new Error('record is not an array')
  switch (a[0]) {
    case KIND_SEAL:
      if (!Array.isArray(a[4])) throw new Error('bad seal')
      return {
        kind: 'seal',
        hmac: bytes(a[1]),
        firstSeq: a[2] as number,
        firstPrevTag: bytes(a[3]),
        columns: a[4] as unknown[],
      }
    case KIND_PAYMENT: {
      const rec: PaymentRecord = {
        kind: 'payment',
        txId: a[1] as string,
        walletId: a[2] as string,
        counter: a[3] as number,
        amount: a[4] as number,
        currency: a[5] as string,
        merchantId: a[6] as string,
        deviceId: a[7] as string,
        acceptedAt: a[8] as number,
        channel: a[9] as PaymentRecord['channel'],
        token: bytes(a[10]),
        receipt: bytes(a[11]),
      }
      if (typeof a[12] === 'string') rec.purseId = a[12]
      validateRecord(rec)
      return rec
    }
    case KIND_SYNCED: {
      const rec: SyncedRecord = { kind: 'synced', txIds: a[1] as string[] }
      validateRecord(rec)
      return rec
    }
    case KIND_REFUSED: {
      if (!Array.isArray(a[1])) throw new Error('bad refused record')
      const rec: RefusedRecord = {
        kind: 'refused',
        items: (a[1] as unknown[][]).map((i) => ({ txId: i[0] as string, code: i[1] as string })),
      }
      validateRecord(rec)
      return rec
    }
    case KIND_NOTICE: {
      const rec: NoticeRecord = {
        kind: 'notice',
        ref: a[1] as string,
        amount: a[2] as number,
        currency: a[3] as string,
        counter: a[4] as number,
        via: a[5] as NoticeRecord['via'],
        receivedAt: a[6] as number,
      }
      validateRecord(rec)
      return rec
    }
    default:
      throw new Error(`unknown record kind ${String(a[0])}`)
  }
}

function id(v: unknown): boolean {
  return typeof v === 'string' && v.length > 0 && v.length <= 128
}
function uint(v: unknown): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
}
const CURRENCY = /^[A-Z]{3}$/

function problem(rec: VaultRecord): string | undefined {
  switch (rec.kind) {
    case 'payment':
      if (!id(rec.txId)) return 'txId'
      if (!id(rec.walletId)) return 'walletId'
      if (rec.purseId !== undefined && !id(rec.purseId)) return 'purseId'
      if (!uint(rec.counter)) return 'counter'
      if (!uint(rec.amount) || rec.amount === 0) return 'amount'
      if (typeof rec.currency !== 'string' || !CURRENCY.test(rec.currency)) return 'currency'
      if (!id(rec.merchantId)) return 'merchantId'
      if (!id(rec.deviceId)) return 'deviceId'
      if (!uint(rec.acceptedAt)) return 'acceptedAt'
      if (rec.channel !== 'qr' && rec.channel !== 'ble') return 'channel'
      if (!(rec.token instanceof Uint8Array)) return 'token'
      if (!(rec.receipt instanceof Uint8Array)) return 'receipt'
      return undefined
    case 'synced':
      return Array.isArray(rec.txIds) && rec.txIds.every(id) ? undefined : 'txIds'
    case 'refused':
      return Array.isArray(rec.items) && rec.items.every((i) => id(i?.txId) && id(i?.code))
        ? undefined
        : 'items'
    case 'notice':
      if (!id(rec.ref)) return 'ref'
      if (!uint(rec.amount)) return 'amount'
      if (typeof rec.currency !== 'string' || !CURRENCY.test(rec.currency)) return 'currency'
      if (!uint(rec.counter)) return 'counter'
      if (rec.via !== 'sms' && rec.via !== 'mqtt') return 'via'
      if (!uint(rec.receivedAt)) return 'receivedAt'
      return undefined
    default:
      return 'kind'
  }
}

/** Throw `invalid_record` unless the record is well formed. */
export function validateRecord(rec: VaultRecord): void {
  const field = (rec as { kind?: unknown } | null)?.kind === undefined ? 'kind' : problem(rec)
  if (field) throw new VaultError('invalid_record', `invalid ${String(rec?.kind)} record: bad ${field}`)
}

/** The in-memory part of a payment. */
export function summarise(rec: PaymentRecord, synced = false): PaymentSummary {
  return {
    txId: rec.txId,
    walletId: rec.walletId,
    purseId: rec.purseId,
    counter: rec.counter,
    amount: rec.amount,
    currency: rec.currency,
    acceptedAt: rec.acceptedAt,
    channel: rec.channel,
    synced,
  }
}
