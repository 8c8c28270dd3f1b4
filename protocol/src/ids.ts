/**
 * Identifiers. Tenants, merchants, devices and wallets have 8-byte ids shown as 16 lowercase hex characters
 * (assigned by the bridge, unique by construction there); every payment has a UUIDv7 transaction id (RFC 9562),
 * made offline by the wallet: 48-bit millisecond time + 74 random bits, so ids sort by creation time.
 */
import { type Bytes, fromHex, toHex } from './bytes.js'
import type { CryptoBackend } from './crypto/backend.js'
import { ProtocolError } from './errors.js'

const ID8 = /^[0-9a-f]{16}$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export function isId8(s: unknown): s is string {
  return typeof s === 'string' && ID8.test(s)
}

/** The 8 bytes of a 16-hex id; ProtocolError('bad_field') otherwise. */
export function id8ToBytes(id: string): Bytes {
  if (!isId8(id)) throw new ProtocolError('bad_field', 'id must be 16 lowercase hex characters')
  return fromHex(id)
}

export function bytesToId8(b: Bytes): string {
  if (b.length !== 8) throw new ProtocolError('bad_length', 'id must be 8 bytes')
  return toHex(b)
}

/** A fresh random 8-byte id. */
export function newId8(c: CryptoBackend): string {
  return toHex(c.randomBytes(8))
}

export function isUuid(s: unknown): s is string {
  return typeof s === 'string' && UUID.test(s)
}

export function uuidToBytes(id: string): Bytes {
  if (!isUuid(id)) throw new ProtocolError('bad_field', 'not a canonical lowercase UUID')
  return fromHex(id.replaceAll('-', ''))
}

export function bytesToUuid(b: Bytes): string {
  if (b.length !== 16) throw new ProtocolError('bad_length', 'UUID must be 16 bytes')
  const h = toHex(b)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/** A UUIDv7 transaction id for time `nowMs`. */
export function uuidv7(c: CryptoBackend, nowMs: number = Date.now()): string {
  const b = c.randomBytes(16)
  let t = Math.floor(nowMs)
  for (let i = 5; i >= 0; i--) {
    b[i] = t & 0xff
    t = Math.floor(t / 256)
  }
  b[6] = 0x70 | (b[6]! & 0x0f)
  b[8] = 0x80 | (b[8]! & 0x3f)
  return bytesToUuid(b)
}

/** True for a UUID whose version nibble is 7 and variant is RFC 9562. */
export function isUuidv7(id: string): boolean {
  return isUuid(id) && id[14] === '7' && '89ab'.includes(id[19]!)
}
