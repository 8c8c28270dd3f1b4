/**
 * Building and signing a payment token with a pluggable (possibly asynchronous, hardware-backed) Signer, and
 * the spending rules the wallet enforces before it signs anything.
 */
import {
  type CryptoBackend,
  concat,
  decodeToken,
  type IssuerKeyring,
  isProtocolError,
  type PaymentToken,
  type PaymentTokenFields,
  signToken,
  verifyWalletCertificate,
  type WalletCertificate,
} from '@opg/protocol'
import { WalletError } from './errors.js'
import type { Signer } from './signer.js'

/**
 * Sign a token through `signer`. The protocol's encoder lays out the body; the signer signs the exact
 * domain-separated input; the signature is checked against the signer's public key before the token is used,
 * so a misbehaving hardware signer cannot produce a token the box would refuse.
 */
export async function signTokenWith(
  c: CryptoBackend,
  signer: Signer,
  cert: WalletCertificate,
  fields: PaymentTokenFields,
): Promise<PaymentToken> {
  let input: Uint8Array | undefined
  const draft = signToken(
    c,
    (message) => {
      input = message
      return new Uint8Array(64)
    },
    cert,
    fields,
  )
  if (!input) throw new Error('token encoder did not ask for a signature')
  const signature = await signer.sign(input)
  if (!c.ed25519Verify(signer.publicKey, input, signature)) {
    throw new WalletError('bad_certificate', 'the signer produced a signature that does not verify')
  }
  return decodeToken(concat(draft.bytes.subarray(0, draft.bytes.length - 64), signature))
}

/**
 * The wallet's own refusals before signing: amount shape, certificate validity by the wallet's clock,
 * per-payment limit, remaining purse. Throws WalletError with a stable code.
 */
export function checkSpend(
  c: CryptoBackend,
  cert: WalletCertificate,
  issuerKeys: IssuerKeyring,
  remaining: number,
  amount: number,
  nowS: number,
): void {
  if (!Number.isSafeInteger(amount) || amount < 1) {
    throw new WalletError('bad_amount', 'amount must be a positive whole number of minor units')
  }
  try {
    verifyWalletCertificate(c, cert, issuerKeys, nowS)
  } catch (cause) {
    if (isProtocolError(cause, 'expired')) {
      throw new WalletError('cert_expired', 'the offline purse has expired: sync and load a new one', {
        cause,
      })
    }
    if (isProtocolError(cause, 'not_yet_valid')) {
      // Same code for the app (the purse cannot be used now); the message points at the likely cause.
      throw new WalletError(
        'cert_expired',
        "the purse is not valid yet by this device's clock: check the time",
        {
          cause,
        },
      )
    }
    throw new WalletError('bad_certificate', 'the purse certificate does not verify', { cause })
  }
  if (amount > cert.perPaymentLimit) {
    throw new WalletError('over_limit', `amount over the per-payment limit of ${cert.perPaymentLimit}`)
  }
  if (amount > remaining) {
    throw new WalletError('purse_exhausted', `the purse holds only ${remaining}`)
  }
}
