/**
 * Identifier helpers. Tenant, merchant, wallet, device, API-key and issuer-key ids are 8 random bytes shown
 * as 16 lowercase hex characters; ledger entries and outbox rows use UUIDs.
 */
import { randomBytes, randomUUID } from 'node:crypto'

const HEX16 = /^[0-9a-f]{16}$/

/** A fresh random 8-byte id as 16 lowercase hex characters. */
export function newId(): string {
  return randomBytes(8).toString('hex')
}

/** True when `s` has the shape of an 8-byte id. */
export function isId(s: unknown): s is string {
  return typeof s === 'string' && HEX16.test(s)
}

/** A fresh random UUID (v4) for rows that need one. Transaction ids (UUIDv7) come from the protocol. */
export function newUuid(): string {
  return randomUUID()
}
