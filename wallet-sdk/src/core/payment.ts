/**
 * A payment as the app handles it: the signed token sealed (HPKE) to the box on the sticker and its `OPG1:` QR
 * text. Sealing is cheap and randomised, so the same logged token can be sealed again to show it once more.
 */
import { type Bytes, type CryptoBackend, encodeQrText, type PaymentToken, sealEnvelope } from '@opg/protocol'
import type { MerchantTarget } from './sticker.js'

/** A signed, encrypted offline payment, ready to show as a QR code or send over BLE. */
export interface Payment {
  txId: string
  amount: number
  currency: string
  counter: number
  target: MerchantTarget
  token: PaymentToken
  /** The token sealed (HPKE) to the box's encryption key. */
  envelope: Bytes
  /** `OPG1:` + Base45(envelope): the text of the QR code the box scans. */
  qrText: string
}

/** Options of `Wallet.pay`. */
export interface PayOptions {
  /** Sticker text (`OPGM:…`) or a target already read with `readSticker`. */
  to: string | MerchantTarget
  /** Minor units. */
  amount: number
  /** The box's 8-byte session challenge (BLE only). */
  challenge?: Bytes
}

/** Seal a signed token to the target box and build its QR text. */
export function sealPayment(c: CryptoBackend, token: PaymentToken, target: MerchantTarget): Payment {
  const envelope = sealEnvelope(c, target.nodeCert.encryptionKey, token.bytes)
  return {
    txId: token.txId,
    amount: token.amount,
    currency: token.currency,
    counter: token.counter,
    target,
    token,
    envelope,
    qrText: encodeQrText(envelope),
  }
}
