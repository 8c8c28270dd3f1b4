/**
 * The SMS payment confirmation to an offline box (SPEC.md §9):
 *   "OPG1 PAID <ref> <amount> <currency> <counter> <tag>"
 * amount in minor units; counter strictly increasing per device (the box refuses a counter it has seen: replay);
 * tag = first 8 bytes (64 bits) of AES-CMAC(sms key, "opg/v1 sms" 0x00 deviceId "|" ref "|" amount "|" currency
 * "|" counter), as 16 uppercase hex characters. The sms key is deriveKey(deviceSecret, 'sms', deviceId).
 */
import { type Bytes, concat, equalBytes, fromHex, toHex, utf8 } from './bytes.js'
import type { CryptoBackend } from './crypto/backend.js'
import { check, ProtocolError } from './errors.js'

export const SMS_MAX = 160
export const SMS_TAG_BYTES = 8
const REF = /^[A-Za-z0-9-]{1,32}$/
const LINE =
  /^OPG1 PAID ([A-Za-z0-9-]{1,32}) (0|[1-9][0-9]{0,11}) ([A-Z]{3}) (0|[1-9][0-9]{0,9}) ([0-9A-F]{16})$/

export interface PaidSms {
  ref: string
  amount: number
  currency: string
  counter: number
}

function macInput(deviceId: string, m: PaidSms): Bytes {
  return concat(
    utf8('opg/v1 sms'),
    Uint8Array.of(0),
    utf8(`${deviceId}|${m.ref}|${m.amount}|${m.currency}|${m.counter}`),
  )
}

export function formatPaidSms(c: CryptoBackend, smsKey: Bytes, deviceId: string, m: PaidSms): string {
  check(REF.test(m.ref), 'bad_field', 'ref must be 1-32 characters [A-Za-z0-9-]')
  check(Number.isSafeInteger(m.amount) && m.amount > 0 && m.amount < 1e12, 'bad_field', 'bad amount')
  check(/^[A-Z]{3}$/.test(m.currency), 'bad_field', 'bad currency')
  check(Number.isInteger(m.counter) && m.counter >= 0 && m.counter <= 0xffffffff, 'bad_field', 'bad counter')
  const tag = c.aesCmac(smsKey, macInput(deviceId, m)).slice(0, SMS_TAG_BYTES)
  return `OPG1 PAID ${m.ref} ${m.amount} ${m.currency} ${m.counter} ${toHex(tag).toUpperCase()}`
}

/** Parse and authenticate an SMS. Replay (counter already seen) is the caller's check. */
export function parsePaidSms(c: CryptoBackend, smsKey: Bytes, deviceId: string, text: string): PaidSms {
  if (typeof text !== 'string') throw new ProtocolError('bad_encoding', 'SMS must be text')
  if (text.length > SMS_MAX) throw new ProtocolError('oversized', 'SMS too long')
  const t = text.trim()
  if (!t.startsWith('OPG1 PAID ')) throw new ProtocolError('bad_prefix', 'not an OPG1 PAID message')
  const m = LINE.exec(t)
  if (!m) throw new ProtocolError('bad_encoding', 'malformed OPG1 PAID message')
  const msg: PaidSms = { ref: m[1]!, amount: Number(m[2]), currency: m[3]!, counter: Number(m[4]) }
  check(msg.amount > 0 && msg.counter <= 0xffffffff, 'bad_field', 'amount or counter out of range')
  const expected = c.aesCmac(smsKey, macInput(deviceId, msg)).slice(0, SMS_TAG_BYTES)
  if (!equalBytes(expected, fromHex(m[5]!.toLowerCase())))
    throw new ProtocolError('bad_tag', 'SMS tag does not verify')
  return msg
}
