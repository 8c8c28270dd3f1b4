/** A small world for tests: an issuer, a wallet with a purse certificate, a box with its certificate. */
import {
  type CryptoBackend,
  chainStart,
  type ErrorCode,
  generateEncryptionKeyPair,
  generateSigningKeyPair,
  issueNodeCertificate,
  issueWalletCertificate,
  makeKeyring,
  type NodeCertificate,
  newId8,
  type PaymentTokenFields,
  ProtocolError,
  signToken,
  uuidv7,
  type WalletCertificate,
} from '../src/index.js'

export const NOW_S = 1_780_000_000

export function world(c: CryptoBackend) {
  const issuer = generateSigningKeyPair(c)
  const wallet = generateSigningKeyPair(c)
  const nodeSigning = generateSigningKeyPair(c)
  const nodeEnc = generateEncryptionKeyPair(c)
  const ids = { tenantId: newId8(c), merchantId: newId8(c), deviceId: newId8(c), walletId: newId8(c) }
  const walletCert: WalletCertificate = issueWalletCertificate(c, issuer, {
    walletId: ids.walletId,
    publicKey: wallet.publicKey,
    perPaymentLimit: 5000,
    purseAmount: 20000,
    currency: 'INR',
    counterBase: 10,
    issuedAt: NOW_S - 3600,
    expiresAt: NOW_S + 68 * 3600,
  })
  const nodeCert: NodeCertificate = issueNodeCertificate(c, issuer, {
    tenantId: ids.tenantId,
    merchantId: ids.merchantId,
    deviceId: ids.deviceId,
    signingKey: nodeSigning.publicKey,
    encryptionKey: nodeEnc.publicKey,
    issuedAt: NOW_S - 86400,
    expiresAt: NOW_S + 365 * 86400,
  })
  const keyring = makeKeyring(c, [issuer.publicKey])
  const pay = (over: Partial<PaymentTokenFields> = {}) =>
    signToken(c, wallet.secretKey, walletCert, {
      txId: uuidv7(c, NOW_S * 1000),
      merchantId: ids.merchantId,
      deviceId: ids.deviceId,
      amount: 1250,
      counter: 11,
      prevHash: chainStart(c, walletCert),
      walletTime: NOW_S,
      ...over,
    })
  return { issuer, wallet, nodeSigning, nodeEnc, ids, walletCert, nodeCert, keyring, pay }
}

/** The ProtocolError code `fn` throws, or 'no error' / 'other error'. */
export function code(fn: () => unknown): ErrorCode | 'no error' | 'other error' {
  try {
    fn()
    return 'no error'
  } catch (e) {
    return e instanceof ProtocolError ? e.code : 'other error'
  }
}
