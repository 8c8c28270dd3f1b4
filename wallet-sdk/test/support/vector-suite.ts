/**
 * The wallet against protocol/test-vectors/opg-v1.json: with the vector's keys, clock, ids and ephemeral
 * secrets, a QR payment and a BLE payment must reproduce the vector bytes exactly.
 */
import { readFileSync } from 'node:fs'
import { type CryptoBackend, decodeNodeCertificate, fromHex, type IssuerKeyring, toHex } from '@opg/protocol'
import type { Test } from 'tap'
import { payOverBle } from '../../src/core/ble-pay.js'
import { softwareSigner } from '../../src/core/signer.js'
import { MemoryStorage } from '../../src/core/storage.js'
import { Wallet } from '../../src/core/wallet.js'
import { FakeBoxChannel } from './fake-box.js'

interface Vectors {
  keys: Record<'issuerKeyId' | 'issuerPublic' | 'walletSecret' | 'walletPublic' | 'nodeSigningSecret', string>
  certificates: { wallet: { bytes: string }; node: { bytes: string } }
  token: {
    fields: { txId: string; walletTime: number }
    bytes: string
    envelope: string
    qrText: string
    envelopeEphemeralSecret: string
  }
  receipt: { bytes: string }
  sticker: { text: string }
  ble: Record<
    | 'walletEphemeralSecret'
    | 'boxEphemeralSecret'
    | 'challenge'
    | 'walletHello'
    | 'boxHello'
    | 'token'
    | 'sealedToken',
    string
  >
}

const V = JSON.parse(
  readFileSync(new URL('../../../protocol/test-vectors/opg-v1.json', import.meta.url), 'utf8'),
) as Vectors
const { keys, certificates: certs, token: tok, ble } = V

/** A backend whose randomBytes hands out queued values first (fixed ephemeral secrets). */
function scripted(c: CryptoBackend, queue: Uint8Array[]): CryptoBackend {
  return {
    ...c,
    randomBytes(n) {
      if (queue[0]?.length === n) return queue.shift()!
      return c.randomBytes(n)
    },
  }
}

export function vectorSuite(t: Test, base: CryptoBackend): void {
  t.test('QR then BLE payment reproduce the protocol test vectors', async (t) => {
    const c = scripted(base, [fromHex(tok.envelopeEphemeralSecret), fromHex(ble.walletEphemeralSecret)])
    let now = Number(tok.fields.walletTime) * 1000
    const txIds: string[] = [tok.fields.txId, '01890a5d-ac96-774b-bcce-b302099a8059']
    const issuerKeys: IssuerKeyring = new Map([[keys.issuerKeyId, fromHex(keys.issuerPublic)]])
    const wallet = await Wallet.create({
      crypto: c,
      storage: new MemoryStorage(),
      signer: softwareSigner(c, fromHex(keys.walletSecret)),
      issuerKeys,
      now: () => now,
      txIds: () => txIds.shift()!,
    })
    t.equal(toHex(wallet.publicKey), keys.walletPublic)
    const purse = await wallet.installPurse(fromHex(certs.wallet.bytes))
    t.match(purse, { remaining: 20000, nextCounter: 42, currency: 'INR' })

    const target = wallet.readSticker(V.sticker.text)
    t.match(target, {
      merchantId: '1111111111111111',
      deviceId: '2222222222222222',
      merchantName: 'Asha Tea Stall',
    })

    const p = await wallet.pay({ to: target, amount: 1250 })
    t.equal(toHex(p.token.bytes), tok.bytes, 'token bytes match the vector')
    t.equal(toHex(p.envelope), tok.envelope, 'envelope matches the vector')
    t.equal(p.qrText, tok.qrText, 'QR text matches the vector')
    await wallet.acceptReceipt(p, fromHex(V.receipt.bytes))

    now += 100_000
    const node = {
      signingSecret: fromHex(keys.nodeSigningSecret),
      cert: decodeNodeCertificate(fromHex(certs.node.bytes)),
    }
    const box = new FakeBoxChannel(c, node, issuerKeys, {
      ephemeralSecret: fromHex(ble.boxEphemeralSecret),
      challenge: fromHex(ble.challenge),
    })
    const r = await payOverBle(wallet, box, { to: target, amount: 700 })
    t.equal(toHex(box.received[0]!), ble.walletHello, 'WalletHello matches')
    t.equal(toHex(box.sent[0]!), ble.boxHello, 'BoxHello matches')
    t.equal(toHex(r.payment.token.bytes), ble.token, 'BLE token (chained, with challenge) matches')
    t.equal(toHex(box.received[1]!), ble.sealedToken, 'sealed token matches')
    t.equal(r.receipt.txId, r.payment.txId)
    t.match(wallet.purse(), { remaining: 20000 - 1250 - 700, nextCounter: 44 })
  })
}
