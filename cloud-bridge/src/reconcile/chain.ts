/**
 * The hash-chain facts of a stored token, read from its bytes (protocol SPEC.md §4): its previous hash (bytes
 * 173..189) and its own link (first 16 bytes of SHA-256 of the whole token). Used to check continuity between
 * neighbouring counters under one certificate. Bytes that are not a token yield nothing, and nothing is checked.
 */
import { createHash } from 'node:crypto'
import { TOKEN_LEN, TOKEN_LEN_CHALLENGE, TOKEN_TYPE, TOKEN_TYPE_CHALLENGE } from '@opg/protocol'
import type { PaymentRecord } from './types.js'

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

export function chainFields(token: Uint8Array): { prevHash: string; link: string } | null {
  const ok =
    (token.length === TOKEN_LEN && token[0] === TOKEN_TYPE) ||
    (token.length === TOKEN_LEN_CHALLENGE && token[0] === TOKEN_TYPE_CHALLENGE)
  if (!ok) return null
  return {
    prevHash: hex(token.subarray(173, 189)),
    link: createHash('sha256').update(token).digest('hex').slice(0, 32),
  }
}

/** The record with its chain facts filled in (when its bytes are a token). */
export function withChain(p: PaymentRecord): PaymentRecord {
  const c = chainFields(p.token)
  return c ? { ...p, ...c } : p
}
