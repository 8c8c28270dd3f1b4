/**
 * Protocol hot paths on both crypto backends, same run: token sign, envelope seal (encrypt), open (decrypt),
 * verify, in operations per second; token and envelope sizes; the QR version at ECC L and M.
 * Run: npm run bench -w protocol
 */
import os from 'node:os'
import QRCode from 'qrcode'
import {
  type CryptoBackend,
  decodeToken,
  encodeQrText,
  nobleBackend,
  openEnvelope,
  sealEnvelope,
  verifyToken,
} from '../src/index.js'
import { nodeBackend } from '../src/node.js'
import { NOW_S, world } from '../test/fixtures.js'

function opsPerSecond(fn: () => void, minMs = 400): number {
  for (let i = 0; i < 20; i++) fn()
  let n = 0
  const start = performance.now()
  let el = 0
  while (el < minMs) {
    for (let i = 0; i < 20; i++) fn()
    n += 20
    el = performance.now() - start
  }
  return (n / el) * 1000
}

function measure(c: CryptoBackend) {
  const w = world(c)
  const token = w.pay()
  const env = sealEnvelope(c, w.nodeEnc.publicKey, token.bytes)
  const o = { issuerKeys: w.keyring, nowS: NOW_S, merchantId: w.ids.merchantId, deviceId: w.ids.deviceId }
  return {
    sign: opsPerSecond(() => w.pay()),
    encrypt: opsPerSecond(() => sealEnvelope(c, w.nodeEnc.publicKey, token.bytes)),
    decrypt: opsPerSecond(() => openEnvelope(c, w.nodeEnc, env)),
    verify: opsPerSecond(() => verifyToken(c, decodeToken(token.bytes), o)),
    tokenBytes: token.bytes.length,
    envelopeBytes: env.length,
    qrText: encodeQrText(env),
  }
}

const node = measure(nodeBackend)
const noble = measure(nobleBackend)
const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(9)
console.log(`machine: ${os.cpus()[0]?.model} × ${os.cpus().length}, node ${process.version}`)
console.log('operation          node:crypto/s   @noble/s   node÷noble')
for (const k of ['sign', 'encrypt', 'decrypt', 'verify'] as const) {
  console.log(
    `${`token ${k}`.padEnd(18)} ${fmt(node[k])}   ${fmt(noble[k])}   ${(node[k] / noble[k]).toFixed(1)}×`,
  )
}
console.log(
  `token bytes: ${node.tokenBytes} (BLE with challenge: ${node.tokenBytes + 8}); sealed: ${node.envelopeBytes}`,
)
for (const ecc of ['L', 'M'] as const) {
  const qr = QRCode.create([{ data: node.qrText, mode: 'alphanumeric' }], { errorCorrectionLevel: ecc })
  console.log(
    `QR text ${node.qrText.length} chars → version ${qr.version} at ECC ${ecc} (${qr.modules.size}×${qr.modules.size} modules)`,
  )
}
