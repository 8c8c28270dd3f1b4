// The payment QR code as the box's camera sees it: the PNG decodes (with the same ZXing decoder the box uses)
// back to the exact OPG1 text, at QR version ≤ 13 / ECC M; SVG and terminal renderings are produced.
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { nodeBackend as c } from '@opg/protocol/node'
import t from 'tap'
// zxing-wasm is the box's decoder (node-runtime); used here only to read back what the wallet draws.
import { prepareZXingModule, readBarcodes } from 'zxing-wasm/reader'
import { MemoryStorage } from '../src/core/storage.js'
import { Wallet } from '../src/core/wallet.js'
import { qrPng, qrSvg, qrTerminal, qrVersion } from '../src/node/qr-render.js'
import { world } from './support/fixtures.js'

t.test('the payment QR code scans back to its text', async (t) => {
  const file = await readFile(createRequire(import.meta.url).resolve('zxing-wasm/reader/zxing_reader.wasm'))
  const wasmBinary = file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength)
  await prepareZXingModule({ overrides: { wasmBinary }, equalityFn: () => true, fireImmediately: true })

  const w = world(c)
  const wallet = await Wallet.create({
    crypto: c,
    storage: new MemoryStorage(),
    now: w.clock.now,
    issuerKeys: w.keyring,
  })
  await wallet.installPurse(w.issuePurse(wallet.publicKey))
  for (const challenge of [undefined, new Uint8Array(8).fill(7)]) {
    const p = await wallet.pay({ to: w.box.sticker, amount: 4321, ...(challenge ? { challenge } : {}) })
    t.ok(qrVersion(p.qrText) <= 13, `QR version ${qrVersion(p.qrText)} ≤ 13 at ECC M`)
    const png = await qrPng(p.qrText)
    const [hit] = await readBarcodes(new Uint8Array(png), { formats: ['QRCode'], maxNumberOfSymbols: 1 })
    t.equal(hit?.text, p.qrText, 'the decoded text is the payment')
  }
  const p = await wallet.pay({ to: w.box.sticker, amount: 1 })
  t.match(await qrSvg(p.qrText), /^<svg[\s\S]*<\/svg>\s*$/)
  t.ok((await qrTerminal(p.qrText)).split('\n').length > 20, 'terminal rendering has rows')
})
