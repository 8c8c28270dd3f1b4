/**
 * Runnable: `npx tsx --conditions=@opg/source examples/offline-qr-payment.ts` (from wallet-sdk/).
 * An offline QR payment from start to finish. The first block plays the bridge and the box (an issuer key,
 * a certified box with its sticker, a purse certificate) so the example needs no server; the second block is
 * what an app does.
 */
import {
  decodeQrText,
  decodeToken,
  encodeSticker,
  generateEncryptionKeyPair,
  generateSigningKeyPair,
  issueNodeCertificate,
  issueWalletCertificate,
  makeKeyring,
  openEnvelope,
  verifyToken,
} from '@opg/protocol'
import { MemoryStorage, nobleBackend, Wallet, WalletError } from '@opg/wallet-sdk'
import { qrTerminal } from '@opg/wallet-sdk/node'

const c = nobleBackend
const nowS = Math.floor(Date.now() / 1000)

// --- the bridge and the box (normally elsewhere) ---
const issuer = generateSigningKeyPair(c)
const issuerKeys = makeKeyring(c, [issuer.publicKey])
const boxEncryption = generateEncryptionKeyPair(c)
const nodeCert = issueNodeCertificate(c, issuer, {
  tenantId: '0000000000000001',
  merchantId: '00000000000000aa',
  deviceId: '00000000000000d1',
  signingKey: generateSigningKeyPair(c).publicKey,
  encryptionKey: boxEncryption.publicKey,
  issuedAt: nowS,
  expiresAt: nowS + 365 * 86400,
})
const stickerText = encodeSticker({ nodeCert, merchantName: 'Asha Tea Stall' })

// --- the app ---
const wallet = await Wallet.create({ crypto: c, storage: new MemoryStorage(), issuerKeys })
// While online: the bridge escrows 100.00 and certifies the purse (see examples/online-sync.ts for the real call).
const purseCert = issueWalletCertificate(c, issuer, {
  walletId: '0000000000000c01',
  publicKey: wallet.publicKey,
  perPaymentLimit: 5000,
  purseAmount: 10000,
  currency: 'INR',
  counterBase: 0,
  issuedAt: nowS,
  expiresAt: nowS + 72 * 3600,
})
await wallet.installPurse(purseCert.bytes)

// Offline from here: scan the sticker, pay, show the QR code.
const payment = await wallet.pay({ to: stickerText, amount: 1250 })
console.log(await qrTerminal(payment.qrText))
console.log(
  `pay ${payment.amount} ${payment.currency} to ${payment.target.merchantName}: ${payment.qrText.slice(0, 40)}…`,
)
console.log(`purse left: ${wallet.purse()?.remaining}`)

try {
  await wallet.pay({ to: stickerText, amount: 9000 })
} catch (err) {
  if (err instanceof WalletError) console.log(`refused: ${err.code}`) // over_limit
}

// --- the box scans it ---
const token = decodeToken(openEnvelope(c, boxEncryption, decodeQrText(payment.qrText)))
verifyToken(c, token, { issuerKeys, nowS, merchantId: '00000000000000aa', deviceId: '00000000000000d1' })
console.log(`box accepted tx ${token.txId} at counter ${token.counter}`)
