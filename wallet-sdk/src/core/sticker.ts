/**
 * Reading the merchant's sticker QR: decode it and check that its node certificate was signed by an issuer
 * the wallet knows and is still valid. A payment is only ever encrypted to a box key that passed this check,
 * so a forged sticker glued over the real one cannot collect tokens.
 */
import {
  type CryptoBackend,
  decodeSticker,
  type IssuerKeyring,
  isProtocolError,
  type NodeCertificate,
  verifyNodeCertificate,
} from '@opg/protocol'
import { WalletError } from './errors.js'

/** The box a payment goes to, as proven by its sticker. */
export interface MerchantTarget {
  merchantId: string
  deviceId: string
  tenantId: string
  merchantName: string
  /** The verified node certificate (its encryptionKey receives the token; its signingKey signs receipts). */
  nodeCert: NodeCertificate
}

/**
 * Decode and verify sticker text (`OPGM:…`). Throws WalletError 'bad_sticker' (not a sticker),
 * 'forged_sticker' (not signed by a known issuer) or 'sticker_expired'.
 */
export function readSticker(
  c: CryptoBackend,
  text: string,
  issuerKeys: IssuerKeyring,
  nowS: number,
): MerchantTarget {
  let sticker: ReturnType<typeof decodeSticker>
  try {
    sticker = decodeSticker(text.trim())
  } catch (cause) {
    throw new WalletError('bad_sticker', 'this is not an opg merchant sticker', { cause })
  }
  const cert = sticker.nodeCert
  try {
    verifyNodeCertificate(c, cert, issuerKeys, nowS)
  } catch (cause) {
    if (isProtocolError(cause, 'expired') || isProtocolError(cause, 'not_yet_valid')) {
      throw new WalletError('sticker_expired', 'the sticker certificate is not valid now', { cause })
    }
    throw new WalletError('forged_sticker', 'the sticker is not signed by a known issuer: do not pay', {
      cause,
    })
  }
  return {
    merchantId: cert.merchantId,
    deviceId: cert.deviceId,
    tenantId: cert.tenantId,
    merchantName: sticker.merchantName,
    nodeCert: cert,
  }
}
