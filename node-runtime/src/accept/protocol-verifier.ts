/**
 * The cryptographic half of acceptance on the protocol package: QR text → Base45 → HPKE envelope opened with
 * the box's X25519 key → token decoded → issuer signature on the wallet certificate, wallet signature,
 * merchant/device binding, per-payment limit and (BLE) session challenge verified against the trusted clock.
 */
import {
  type Bytes,
  type CryptoBackend,
  decodeQrText,
  decodeToken,
  type IssuerKeyring,
  type KeyPair,
  openEnvelope,
  signReceipt,
  toHex,
  verifyToken,
} from '@opg/protocol'
import type { AcceptInput, PaymentVerifier } from './acceptor.js'
import type { VerifiedPayment } from './ledger.js'

export interface ProtocolVerifierOptions {
  c: CryptoBackend
  issuerKeys: IssuerKeyring
  merchantId: string
  deviceId: string
  /** The box's X25519 key pair that envelopes are sealed to. */
  encryption: KeyPair
  /** The box's Ed25519 secret seed that signs receipts. */
  signingSecret: Bytes
}

/** A PaymentVerifier using the protocol's functions. */
export function protocolVerifier(o: ProtocolVerifierOptions): PaymentVerifier {
  return {
    verify(input: AcceptInput, nowMs: number): VerifiedPayment {
      let tokenBytes: Bytes
      let challenge: Bytes | undefined
      if ('qrText' in input) {
        tokenBytes = openEnvelope(o.c, o.encryption, decodeQrText(input.qrText))
      } else {
        tokenBytes = input.bleToken
        challenge = input.challenge
      }
      const token = decodeToken(tokenBytes)
      const opts = {
        issuerKeys: o.issuerKeys,
        nowS: Math.floor(nowMs / 1000),
        merchantId: o.merchantId,
        deviceId: o.deviceId,
        ...(challenge ? { challenge } : {}),
      }
      verifyToken(o.c, token, opts)
      const cert = token.cert
      return {
        txId: token.txId,
        walletId: token.walletId,
        // The certificate's own hash names the purse: a reissued purse is a new certificate.
        purseId: toHex(o.c.sha256(cert.bytes).subarray(0, 8)),
        counter: token.counter,
        counterBase: cert.counterBase,
        amount: token.amount,
        currency: token.currency,
        perPaymentLimit: cert.perPaymentLimit,
        purseAmount: cert.purseAmount,
        certExpiresAt: cert.expiresAt,
        merchantId: token.merchantId,
        deviceId: token.deviceId,
        channel: 'qrText' in input ? 'qr' : 'ble',
        tokenBytes: token.bytes,
      }
    },
    receipt(p: VerifiedPayment, acceptedAt: number): Uint8Array {
      return signReceipt(o.c, o.signingSecret, decodeToken(p.tokenBytes), Math.floor(acceptedAt / 1000)).bytes
    },
  }
}
