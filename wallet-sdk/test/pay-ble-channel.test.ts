// `pay --ble` plumbing: openBleChannel drives a GattClient (here an in-memory one wired to the protocol's box
// side) — starts it, connects to the sticker's device tag, pays, and stops it again, also when the box refuses.
import { deviceTag } from '@opg/protocol'
import { nodeBackend } from '@opg/protocol/node'
import t from 'tap'
import { payOverBle } from '../src/core/ble-pay.js'
import { MemoryStorage } from '../src/core/storage.js'
import { Wallet } from '../src/core/wallet.js'
import type { GattClient, GattSession } from '../src/node/ble/index.js'
import { openBleChannel } from '../src/node/ble-channel.js'
import { FakeBoxChannel, type FakeBoxOptions } from './support/fake-box.js'
import { world } from './support/fixtures.js'

const c = nodeBackend

function memoryGatt(box: () => FakeBoxChannel) {
  const calls: string[] = []
  const client: GattClient = {
    async start() {
      calls.push('start')
    },
    async stop() {
      calls.push('stop')
    },
    async connect(tag): Promise<GattSession> {
      calls.push(`connect ${tag}`)
      const b = box()
      await b.open()
      return {
        deviceTag: tag,
        address: '00:11:22:33:44:55',
        mtu: 185,
        ident: new Uint8Array(),
        send: (m) => b.send(m),
        receive: () => b.receive(),
        close: async () => {
          calls.push('close')
          await b.close()
        },
      }
    },
  }
  return { client, calls }
}

t.test('a BLE payment through openBleChannel', async (t) => {
  const w = world(c)
  const wallet = await Wallet.create({
    crypto: c,
    storage: new MemoryStorage(),
    now: w.clock.now,
    issuerKeys: w.keyring,
  })
  await wallet.installPurse(w.issuePurse(wallet.publicKey))
  const target = wallet.readSticker(w.box.sticker)
  const node = { signingSecret: w.box.signing.secretKey, cert: w.box.cert }
  const boxWith =
    (o: FakeBoxOptions = {}) =>
    () =>
      new FakeBoxChannel(c, node, w.keyring, o)

  const ok = memoryGatt(boxWith())
  const r = await payOverBle(wallet, openBleChannel(target, { client: ok.client }), {
    to: target,
    amount: 99,
  })
  t.equal(r.receipt.txId, r.payment.txId)
  t.same(ok.calls, ['start', `connect ${deviceTag(target.deviceId)}`, 'close', 'stop'])

  const refused = memoryGatt(boxWith({ reject: 'revoked' }))
  await t.rejects(
    payOverBle(wallet, openBleChannel(target, { client: refused.client }), { to: target, amount: 1 }),
    {
      code: 'ble',
      remoteCode: 'revoked',
    },
  )
  t.same(refused.calls.slice(-2), ['close', 'stop'], 'the adapter is released after a refusal')
})
