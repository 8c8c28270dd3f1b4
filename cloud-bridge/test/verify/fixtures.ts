// Real signed payment tokens for tests and benchmarks: an issuer, wallets with purses, and a merchant box.
import {
  chainStart,
  generateSigningKeyPair,
  type IssuerKeyring,
  issueWalletCertificate,
  type KeyPair,
  makeKeyring,
  newId8,
  type PaymentToken,
  signToken,
  tokenHash,
  uuidv7,
  type WalletCertificate,
} from '@opg/protocol'
import { nodeBackend as c } from '@opg/protocol/node'

export { c }

/** A tenant's issuer. */
export interface Issuer {
  keys: KeyPair
  keyring: IssuerKeyring
}

export function makeIssuer(): Issuer {
  const keys = generateSigningKeyPair(c)
  return { keys, keyring: makeKeyring(c, [keys.publicKey]) }
}

/** A wallet with one purse (certificate) and its spending chain. */
export class TestWallet {
  readonly id: string
  readonly keys: KeyPair
  readonly cert: WalletCertificate
  private counter: number
  private prev: Uint8Array

  constructor(
    issuer: Issuer,
    opts: {
      id?: string
      purse?: number
      limit?: number
      currency?: string
      counterBase?: number
      issuedAtS?: number
      ttlS?: number
    } = {},
  ) {
    this.id = opts.id ?? newId8(c)
    this.keys = generateSigningKeyPair(c)
    const issuedAt = opts.issuedAtS ?? Math.floor(Date.now() / 1000) - 60
    this.cert = issueWalletCertificate(c, issuer.keys, {
      walletId: this.id,
      publicKey: this.keys.publicKey,
      perPaymentLimit: opts.limit ?? opts.purse ?? 10_000,
      purseAmount: opts.purse ?? 10_000,
      currency: opts.currency ?? 'EUR',
      counterBase: opts.counterBase ?? 0,
      issuedAt,
      expiresAt: issuedAt + (opts.ttlS ?? 72 * 3600),
    })
    this.counter = this.cert.counterBase
    this.prev = chainStart(c, this.cert)
  }

  /** Sign the next payment in the chain. `counter` forces a counter (to forge a double spend). */
  pay(merchantId: string, deviceId: string, amount: number, counter?: number): PaymentToken {
    const n = counter ?? ++this.counter
    const token = signToken(c, this.keys.secretKey, this.cert, {
      txId: uuidv7(c),
      merchantId,
      deviceId,
      amount,
      counter: n,
      prevHash: this.prev,
      walletTime: Math.floor(Date.now() / 1000),
    })
    if (counter === undefined) this.prev = tokenHash(c, token)
    return token
  }
}
