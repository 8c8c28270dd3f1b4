/**
 * @opg/protocol — every opg wire format, key type, topic and error code, once. No I/O. Portable: the default
 * export set has no node: imports; the node:crypto backend lives in '@opg/protocol/node'.
 */

export * from './base45.js'
export * from './ble-frame.js'
export * from './ble-provision.js'
export * from './ble-session.js'
export * from './bytes.js'
export * from './cbor.js'
export * from './certificates.js'
export * from './command-seq.js'
export * from './config-override.js'
export type { CryptoBackend } from './crypto/backend.js'
export {
  ED25519_L,
  isCanonicalPointEncoding,
  isSmallOrderEncoding,
  isStrictEd25519PublicKey,
  type StrictFailure,
  strictEd25519Failure,
} from './crypto/ed25519-strict.js'
export { hkdf, hkdfExpand, hkdfExtract } from './crypto/hkdf.js'
export { nobleBackend } from './crypto/noble.js'
export * from './envelope.js'
export * from './errors.js'
export * from './hpke.js'
export * from './ids.js'
export * from './kdf.js'
export * from './keys.js'
export * from './money.js'
export * from './mqtt.js'
export * from './receipt.js'
export * from './sign.js'
export * from './sms.js'
export * from './sticker.js'
export * from './token.js'
