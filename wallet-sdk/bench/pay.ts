/**
 * How long an offline payment takes on the phone side: Wallet.pay (checks, write-ahead save, sign, commit save,
 * HPKE seal, QR text) with in-memory storage, on node:crypto and on the portable @noble backend (the latter is
 * what a React Native app runs). Run: `npm run bench -w @opg/wallet-sdk`.
 */
import {
  type CryptoBackend,
  encodeSticker,
  generateEncryptionKeyPair,
  generateSigningKeyPair,
  issueNodeCertificate,
  issueWalletCertificate,
  makeKeyring,
  nobleBackend,
} from '@opg/protocol'
import { nodeBackend } from '@opg/protocol/node'
import { MemoryStorage } from '../src/core/storage.js'
import { Wallet } from '../src/core/wallet.js'

const N = Number(process.env.BENCH_N ?? 300)

async function bench(c: CryptoBackend): Promise<void> {
  const nowS = Math.floor(Date.now() / 1000)
  const issuer = generateSigningKeyPair(c)
  const nodeCert = issueNodeCertificate(c, issuer, {
    tenantId: '0000000000000001',
    merchantId: '00000000000000aa',
    deviceId: '00000000000000d1',
    signingKey: generateSigningKeyPair(c).publicKey,
    encryptionKey: generateEncryptionKeyPair(c).publicKey,
    issuedAt: nowS,
    expiresAt: nowS + 86400,
  })
  const wallet = await Wallet.create({
    crypto: c,
    storage: new MemoryStorage(),
    issuerKeys: makeKeyring(c, [issuer.publicKey]),
  })
  const cert = issueWalletCertificate(c, issuer, {
    walletId: '0000000000000c01',
    publicKey: wallet.publicKey,
    perPaymentLimit: 10,
    purseAmount: N * 10,
    currency: 'EUR',
    counterBase: 0,
    issuedAt: nowS,
    expiresAt: nowS + 3600,
  })
  await wallet.installPurse(cert.bytes)
  const target = wallet.readSticker(encodeSticker({ nodeCert, merchantName: 'Bench' }))
  for (let i = 0; i < 20; i++) await wallet.pay({ to: target, amount: 1 })
  const t0 = performance.now()
  for (let i = 0; i < N - 20; i++) await wallet.pay({ to: target, amount: 1 })
  const ms = (performance.now() - t0) / (N - 20)
  console.log(
    `${c.name.padEnd(6)} Wallet.pay: ${ms.toFixed(2)} ms/payment (${Math.round(1000 / ms)}/s, log of ${N})`,
  )
}

await bench(nodeBackend)
await bench(nobleBackend)
