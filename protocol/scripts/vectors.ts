/**
 * Builds the published test vectors from fixed inputs. `npm run vectors -w protocol` writes them to
 * test-vectors/; the tests rebuild them with both crypto backends and require byte equality with the files,
 * so an implementation in another language can replay exactly what this one produces.
 */
import {
  type Bytes,
  base45Encode,
  boxRespond,
  type CryptoBackend,
  chainStart,
  concat,
  deriveKey,
  encodeInner,
  encodeQrText,
  encodeSticker,
  formatPaidSms,
  fromHex,
  issueNodeCertificate,
  issueWalletCertificate,
  keyId,
  sealEnvelope,
  sealMqtt,
  signReceipt,
  signToken,
  TxBatchSchema,
  toHex,
  tokenHash,
  topic,
  utf8,
  walletFinish,
  walletHello,
} from '../src/index.js'

/** Deterministic secrets: SHA-256("opg test vector " || label). Never use outside tests. */
export function fixedSecret(c: CryptoBackend, label: string): Bytes {
  return c.sha256(utf8(`opg test vector ${label}`))
}

export const FIXED = {
  tenantId: '0a0b0c0d0e0f1011',
  merchantId: '1111111111111111',
  deviceId: '2222222222222222',
  walletId: '3333333333333333',
  txId: '01890a5d-ac96-774b-bcce-b302099a8057',
  issuedAt: 1_767_225_600, // 2026-01-01T00:00:00Z
  deviceSecret: '000102030405060708090a0b0c0d0e0f',
}

/** The box's node certificate of the vectors (fixed issuer, keys and validity). */
export function fixedNodeCertificate(c: CryptoBackend) {
  const issuerSecret = fixedSecret(c, 'issuer')
  const issuer = { secretKey: issuerSecret, publicKey: c.ed25519PublicKey(issuerSecret) }
  return issueNodeCertificate(c, issuer, {
    tenantId: FIXED.tenantId,
    merchantId: FIXED.merchantId,
    deviceId: FIXED.deviceId,
    signingKey: c.ed25519PublicKey(fixedSecret(c, 'node signing')),
    encryptionKey: c.x25519PublicKey(fixedSecret(c, 'node encryption')),
    issuedAt: FIXED.issuedAt,
    expiresAt: FIXED.issuedAt + 2 * 365 * 86400,
  })
}

export function buildVectors(c: CryptoBackend) {
  const issuerSecret = fixedSecret(c, 'issuer')
  const issuer = { secretKey: issuerSecret, publicKey: c.ed25519PublicKey(issuerSecret) }
  const walletSecret = fixedSecret(c, 'wallet')
  const nodeSigning = fixedSecret(c, 'node signing')
  const nodeEnc = fixedSecret(c, 'node encryption')
  const node = { secretKey: nodeEnc, publicKey: c.x25519PublicKey(nodeEnc) }
  const deviceSecret = fromHex(FIXED.deviceSecret)
  const deviceIdBytes = fromHex(FIXED.deviceId)

  const walletCert = issueWalletCertificate(c, issuer, {
    walletId: FIXED.walletId,
    publicKey: c.ed25519PublicKey(walletSecret),
    perPaymentLimit: 50_00,
    purseAmount: 200_00,
    currency: 'INR',
    counterBase: 41,
    issuedAt: FIXED.issuedAt,
    expiresAt: FIXED.issuedAt + 72 * 3600,
  })
  const nodeCert = fixedNodeCertificate(c)
  const token = signToken(c, walletSecret, walletCert, {
    txId: FIXED.txId,
    merchantId: FIXED.merchantId,
    deviceId: FIXED.deviceId,
    amount: 12_50,
    counter: 42,
    prevHash: chainStart(c, walletCert),
    walletTime: FIXED.issuedAt + 3600,
  })
  const envelope = sealEnvelope(c, node.publicKey, token.bytes, fixedSecret(c, 'envelope ephemeral'))
  const receipt = signReceipt(c, nodeSigning, token, FIXED.issuedAt + 3601)
  const mqttKey = deriveKey(c, deviceSecret, 'mqtt', deviceIdBytes)
  const txTopic = topic(FIXED.tenantId, FIXED.deviceId, 'up/tx')
  const batch = {
    v: 1 as const,
    batch: '01890a5d-ac96-774b-bcce-b302099a8058',
    records: [
      { token: token.bytes, receipt: receipt.bytes, channel: 'qr' as const, acceptedAt: 1_767_229_201_000 },
    ],
  }
  const smsKey = deriveKey(c, deviceSecret, 'sms', deviceIdBytes)

  const hs = walletHello(c, fixedSecret(c, 'ble wallet ephemeral'))
  const challenge = fixedSecret(c, 'ble challenge').slice(0, 8)
  const box = boxRespond(
    c,
    { signingSecret: nodeSigning, cert: nodeCert },
    hs.message,
    fixedSecret(c, 'ble box ephemeral'),
    challenge,
  )
  const wallet = walletFinish(c, hs, box.message, {
    issuerKeys: new Map([[keyId(c, issuer.publicKey), issuer.publicKey]]),
  })
  const bleToken = signToken(c, walletSecret, walletCert, {
    txId: '01890a5d-ac96-774b-bcce-b302099a8059',
    merchantId: FIXED.merchantId,
    deviceId: FIXED.deviceId,
    amount: 7_00,
    counter: 43,
    prevHash: tokenHash(c, token),
    walletTime: FIXED.issuedAt + 3700,
    challenge,
  })
  const sealedToken = wallet.cipher.seal(encodeInner({ kind: 'token', token: bleToken.bytes }))
  box.cipher.open(sealedToken)
  const bleReceipt = signReceipt(c, nodeSigning, bleToken, FIXED.issuedAt + 3701)
  const sealedReceipt = box.cipher.seal(encodeInner({ kind: 'receipt', receipt: bleReceipt.bytes }))

  return {
    keys: {
      description: 'Fixed secrets: SHA-256("opg test vector <label>"). Ed25519 secrets are 32-byte seeds.',
      issuerSecret: toHex(issuerSecret),
      issuerPublic: toHex(issuer.publicKey),
      issuerKeyId: keyId(c, issuer.publicKey),
      walletSecret: toHex(walletSecret),
      walletPublic: toHex(c.ed25519PublicKey(walletSecret)),
      nodeSigningSecret: toHex(nodeSigning),
      nodeSigningPublic: toHex(c.ed25519PublicKey(nodeSigning)),
      nodeEncryptionSecret: toHex(nodeEnc),
      nodeEncryptionPublic: toHex(node.publicKey),
      deviceSecret: FIXED.deviceSecret,
    },
    kdf: {
      description: 'deriveKey(deviceSecret, purpose, deviceId): SP 800-108 counter mode, AES-CMAC PRF',
      deviceId: FIXED.deviceId,
      vault: toHex(deriveKey(c, deviceSecret, 'vault', deviceIdBytes)),
      state: toHex(deriveKey(c, deviceSecret, 'state', deviceIdBytes)),
      mqtt: toHex(mqttKey),
      sms: toHex(smsKey),
    },
    certificates: {
      wallet: {
        fields: {
          ...walletCert,
          publicKey: toHex(walletCert.publicKey),
          signature: undefined,
          bytes: undefined,
        },
        bytes: toHex(walletCert.bytes),
      },
      node: {
        fields: {
          ...nodeCert,
          signingKey: toHex(nodeCert.signingKey),
          encryptionKey: toHex(nodeCert.encryptionKey),
          signature: undefined,
          bytes: undefined,
        },
        bytes: toHex(nodeCert.bytes),
      },
    },
    token: {
      fields: {
        txId: token.txId,
        merchantId: token.merchantId,
        deviceId: token.deviceId,
        amount: token.amount,
        counter: token.counter,
        prevHash: toHex(token.prevHash),
        walletTime: token.walletTime,
      },
      chainStart: toHex(chainStart(c, walletCert)),
      bytes: toHex(token.bytes),
      tokenHash: toHex(tokenHash(c, token)),
      envelopeEphemeralSecret: toHex(fixedSecret(c, 'envelope ephemeral')),
      envelope: toHex(envelope),
      qrText: encodeQrText(envelope),
    },
    receipt: { acceptedAt: receipt.acceptedAt, bytes: toHex(receipt.bytes) },
    sticker: {
      merchantName: 'Asha Tea Stall',
      text: encodeSticker({ nodeCert, merchantName: 'Asha Tea Stall' }),
    },
    mqtt: {
      topic: txTopic,
      nonce: '000102030405060708090a0b',
      batchCbor: toHex(
        sealMqtt(c, mqttKey, txTopic, TxBatchSchema, batch, fromHex('000102030405060708090a0b')),
      ),
    },
    sms: {
      message: { ref: 'INV-1001', amount: 250_00, currency: 'INR', counter: 7 },
      text: formatPaidSms(c, smsKey, FIXED.deviceId, {
        ref: 'INV-1001',
        amount: 250_00,
        currency: 'INR',
        counter: 7,
      }),
    },
    ble: {
      walletEphemeralSecret: toHex(fixedSecret(c, 'ble wallet ephemeral')),
      boxEphemeralSecret: toHex(fixedSecret(c, 'ble box ephemeral')),
      challenge: toHex(challenge),
      walletHello: toHex(hs.message),
      boxHello: toHex(box.message),
      token: toHex(bleToken.bytes),
      sealedToken: toHex(sealedToken),
      sealedReceipt: toHex(sealedReceipt),
    },
    base45: {
      hex: toHex(concat(utf8('opg'), Uint8Array.of(0, 255))),
      text: base45Encode(concat(utf8('opg'), Uint8Array.of(0, 255))),
    },
  }
}
