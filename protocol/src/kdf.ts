/**
 * Purpose keys from the 128-bit device secret: NIST SP 800-108 KDF in counter mode with AES-CMAC as the PRF
 * (r = 8-bit counter, L = 128). One secret shared by box and bridge yields independent keys per purpose.
 *   K = CMAC(KI, [1]_1 || Label || 0x00 || Context || [128]_2)
 */
import { type Bytes, concat, utf8 } from './bytes.js'
import type { CryptoBackend } from './crypto/backend.js'
import { ProtocolError } from './errors.js'

/** The purposes a device secret is used for; each is its own key. */
export const KEY_PURPOSES = ['vault', 'state', 'mqtt', 'sms', 'broker'] as const
export type KeyPurpose = (typeof KEY_PURPOSES)[number]

/** SP 800-108 counter-mode KDF with AES-CMAC, `bits` output (multiple of 128). */
export function sp800108Cmac(c: CryptoBackend, key: Bytes, label: Bytes, context: Bytes, bits = 128): Bytes {
  if (key.length !== 16) throw new ProtocolError('bad_key', 'KDF key must be 16 bytes')
  if (bits <= 0 || bits % 128 !== 0 || bits > 255 * 128)
    throw new RangeError('bits must be a multiple of 128')
  const blocks: Bytes[] = []
  const l = Uint8Array.of((bits >> 8) & 0xff, bits & 0xff)
  for (let i = 1; i <= bits / 128; i++) {
    blocks.push(c.aesCmac(key, concat(Uint8Array.of(i), label, Uint8Array.of(0), context, l)))
  }
  return concat(...blocks)
}

/** The 16-byte key for `purpose`, bound to the device id bytes (8). */
export function deriveKey(
  c: CryptoBackend,
  deviceSecret: Bytes,
  purpose: KeyPurpose,
  deviceId: Bytes,
): Bytes {
  if (!KEY_PURPOSES.includes(purpose)) throw new ProtocolError('bad_field', `unknown key purpose ${purpose}`)
  return sp800108Cmac(c, deviceSecret, utf8(`opg ${purpose}`), deviceId)
}
