/**
 * The session start that carries the first message (State ← 0x01 || message), on the simulated binding: the
 * message reaches the handler whole and first, it is held to the size limit like chunked ones, a plain start
 * still works, and State values other than a start carry nothing.
 */
import { BLE_STATE, isProtocolError } from '@opg/protocol'
import t, { type Test } from 'tap'
import { ATT_RESULT, BoxGattServer } from '../../src/bindings/ble/box-gatt.js'
import { type BleSession, SimBleBinding } from '../../src/bindings/ble/index.js'

async function started(t: Test, maxMessageSize?: number) {
  const binding = new SimBleBinding({ deviceTag: 'S1', ...(maxMessageSize ? { maxMessageSize } : {}) })
  const sessions: BleSession[] = []
  await binding.start((s) => {
    sessions.push(s)
  })
  t.teardown(() => binding.stop())
  return { binding, sessions }
}

t.test(
  'a start carrying a message hands it to the handler first, then chunked messages follow',
  async (t) => {
    const { binding, sessions } = await started(t)
    const central = binding.connect({ mtu: 185 })
    const hello = Uint8Array.from({ length: 33 }, (_, i) => i)
    t.equal(central.start(hello), 0, 'the State write is accepted')
    t.equal(sessions.length, 1, 'one session started')
    central.send(Uint8Array.of(7, 7, 7))
    t.same(await sessions[0]!.receive(100), hello, 'the carried message first')
    t.same(await sessions[0]!.receive(100), Uint8Array.of(7, 7, 7))
  },
)

t.test('a carried message over the size limit ends the session with oversized', async (t) => {
  const { binding, sessions } = await started(t, 16)
  const central = binding.connect({ mtu: 185 })
  central.start(new Uint8Array(17))
  const err = await sessions[0]!.receive(100).catch((e: unknown) => e)
  t.ok(isProtocolError(err, 'oversized'), 'the handler gets oversized')
  t.same((await sessions[0]!.ended).reason, 'protocol_error')
  t.same(central.notifications.state, [Uint8Array.of(BLE_STATE.end)], 'the wallet is told')
})

t.test('a plain start still opens a session with nothing in it; only a start may carry bytes', async (t) => {
  const { binding, sessions } = await started(t)
  const central = binding.connect({ mtu: 185 })
  t.equal(central.start(), 0)
  const err = await sessions[0]!.receive(50).catch((e: unknown) => e)
  t.ok(isProtocolError(err, 'timeout'), 'no message was invented')
  t.equal(central.start(new Uint8Array(0)), 0, 'an empty carried part is a plain start')
  t.equal(sessions.length, 2)
})

t.test(
  'State 0x02 with bytes after it, or an empty State write, is refused with invalid length',
  async (t) => {
    const server = new BoxGattServer({
      handler: () => {},
      ident: new Uint8Array(0),
      onError: () => {},
      dropLink: () => {},
    })
    server.accept('00:00:00:00:00:09')
    t.teardown(() => server.stop())
    t.equal(server.writeState(Uint8Array.of(BLE_STATE.end, 1), 0), ATT_RESULT.invalidAttributeLength)
    t.equal(server.writeState(new Uint8Array(0), 0), ATT_RESULT.invalidAttributeLength)
    t.equal(server.writeState(Uint8Array.of(BLE_STATE.start, 1, 2), 0), ATT_RESULT.success)
    t.equal(server.session?.isEnded, false, 'the carrying start opened a session')
  },
)
