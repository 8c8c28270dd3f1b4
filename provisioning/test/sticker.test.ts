// The merchant sticker from an enrolled bundle: the PNG decodes back (zxing-wasm, as the box's QrScanner
// reads) to `OPGM:` text whose node certificate verifies under the bundle's issuer keyring and names the box;
// the SVG and terminal forms carry the same caption.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { camera } from '@opg/node-runtime'
import { decodeSticker, deviceTag, fromHex, verifyNodeCertificate } from '@opg/protocol'
import { nodeBackend as c } from '@opg/protocol/node'
import t from 'tap'
import { BridgeClient } from '../src/bridge-client.js'
import { BUNDLE_FILES } from '../src/bundle.js'
import { runProvisionCli } from '../src/cli.js'
import { enrolBox, stickerName } from '../src/enrol.js'
import { rasterizeSticker, type StickerContent } from '../src/sticker.js'
import { collectIo, startBridge } from './support.js'

t.test('sticker PNG, SVG and terminal from a bundle', async (t) => {
  const b = await startBridge(t)
  const out = join(b.dir, 'bundle')
  const name = 'Café Ünter den Linden & Söhne — Bäckerei und Konditorei'
  const box = await enrolBox({
    c,
    bridge: new BridgeClient(b.httpUrl, b.operatorKey),
    merchant: { name },
    label: 'counter',
    out,
    mqttUrl: b.mqttUrl,
  })
  t.ok(Buffer.byteLength(name) > 48, 'the name is longer than a sticker holds')

  const png = join(b.dir, 'sticker.png')
  const run = collectIo()
  t.equal(await runProvisionCli(['sticker', out, '--png', png], run.io), 0, run.err.join('\n'))
  const scanner = new camera.QrScanner()
  await scanner.start()
  t.teardown(() => scanner.stop())
  const text = await scanner.decode(new Uint8Array(await readFile(png)))
  t.ok(text?.startsWith('OPGM:'), 'the PNG holds an OPGM: QR')
  t.equal(text, box.sticker, 'the same text enrol reported')
  const sticker = decodeSticker(text!)
  const config = JSON.parse(await readFile(join(out, BUNDLE_FILES.config), 'utf8'))
  const keyring = new Map(
    Object.entries(config.issuerKeys as Record<string, string>).map(([k, v]) => [k, fromHex(v)]),
  )
  t.doesNotThrow(() => verifyNodeCertificate(c, sticker.nodeCert, keyring), 'its certificate verifies')
  t.equal(sticker.nodeCert.deviceId, box.deviceId, 'and names the box')
  t.equal(sticker.merchantName, stickerName(name), 'the name is cut to 48 bytes on a character boundary')
  t.ok(Buffer.byteLength(sticker.merchantName) <= 48)

  // The caption is drawn as text under the QR: the band below the code has dark pixels.
  const img = rasterizeSticker(sticker0(text!, box.deviceId))
  const px = img.pixels
  let dark = 0
  for (let y = Math.floor(img.height * 0.85); y < img.height; y++) {
    for (let x = 0; x < img.width; x++) if (px[(y * img.width + x) * 4]! < 128) dark++
  }
  t.ok(dark > 200, `the caption is rendered (${dark} dark pixels under the QR)`)
  t.ok(img.width >= 600, 'rendered at label-printer resolution (300 dpi by default)')

  const svg = join(b.dir, 'sticker.svg')
  t.equal(await runProvisionCli(['sticker', out, '--svg', svg], run.io), 0)
  const svgText = await readFile(svg, 'utf8')
  t.match(svgText, /^<svg /)
  t.match(svgText, 'Café Ünter den Linden &amp; Söhne', 'the SVG prints the name as text, escaped')
  t.match(svgText, `box ${deviceTag(box.deviceId)}`, 'and the device tag')

  const term = collectIo()
  t.equal(await runProvisionCli(['sticker', out, '--terminal'], term.io), 0)
  t.match(term.out.join('\n'), `box ${deviceTag(box.deviceId)}`)

  const usage = collectIo()
  t.equal(
    await runProvisionCli(['sticker', out, '--png', png, '--svg', svg], usage.io),
    2,
    'one output at a time',
  )
  t.equal(await runProvisionCli(['sticker', join(b.dir, 'nothing'), '--png', png], usage.io), 1)
  t.match(usage.err.at(-1), /bundle_invalid/, 'a folder without a bundle is refused')
})

function sticker0(text: string, deviceId: string): StickerContent {
  return { text, merchantName: 'Corner Cafe', tag: deviceTag(deviceId) }
}
