import { BLE_STATE, BLE_UUIDS, chunkMessage, isProtocolError } from '@opg/protocol'
import t, { type Test } from 'tap'
import { type BleSession, SimBleBinding } from '../../src/bindings/ble/index.js'

const bytes = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 1) & 0xff)

/** A started SimBleBinding whose sessions are collected for the test to drive. */
async function started(t: Test, options: { maxMessageSize?: number } = {}) {
  const binding = new SimBleBinding({ deviceTag: 'T1', ident: Uint8Array.of(9, 8, 7, 6, 5), ...options })
  const sessions: BleSession[] = []
  await binding.start((s) => {
    sessions.push(s)
  })
  t.teardown(() => binding.stop())
  return { binding, sessions }
}

t.test('advertises OPG <tag> with the payment service; refuses a tag that does not fit', async (t) => {
  const { binding } = await started(t)
  t.same(binding.advertisement, { localName: 'OPG T1', serviceUuid: BLE_UUIDS.service })
  const central = binding.connect()
  t.equal(binding.advertisement, undefined, 'not advertising while connected')
  central.disconnect()
  t.ok(binding.advertisement, 'advertising again')
  const bad = new SimBleBinding({ deviceTag: 'this tag has spaces' })
  await t.rejects(
    bad.start(() => {}),
    { code: 'BAD_TAG' },
  )
  await t.rejects(
    new SimBleBinding({ deviceTag: 'x'.repeat(26) }).start(() => {}),
    { code: 'BAD_TAG' },
  )
})

t.test('a 600-byte request and reply cross as whole messages in chunks of at most MTU−3', async (t) => {
  const { binding, sessions } = await started(t)
  const central = binding.connect({ mtu: 23 })
  central.start()
  const session = sessions[0]!
  t.equal(session.mtu, 23)
  const request = bytes(600)
  central.send(request)
  t.same(await session.receive(), request)
  await session.send(request.map((b) => b ^ 0xff))
  t.ok(central.notifications.server2Client.every((c) => c.length <= 20))
  t.equal(central.notifications.server2Client.length, chunkMessage(request, 23).length)
  t.same(
    central.takeMessage(),
    request.map((b) => b ^ 0xff),
  )
})

t.test('messages are delivered in order to an iterating handler', async (t) => {
  const binding = new SimBleBinding({ deviceTag: 'T2' })
  const seen: number[] = []
  let done!: () => void
  const finished = new Promise<void>((r) => {
    done = r
  })
  await binding.start(async (session) => {
    for await (const m of session) seen.push(m.length)
    done()
  })
  t.teardown(() => binding.stop())
  const central = binding.connect({ mtu: 185 })
  central.start()
  for (const n of [1, 181, 182, 1000]) central.send(bytes(n))
  central.end()
  await finished
  t.same(seen, [1, 181, 182, 1000])
})

t.test('a link lost mid-message: the handler never sees the half message', async (t) => {
  const { binding, sessions } = await started(t)
  const central = binding.connect({ mtu: 23 })
  central.start()
  const session = sessions[0]!
  const pending = session.receive()
  for (const chunk of chunkMessage(bytes(100), 23).slice(0, 3)) central.writeChunk(chunk)
  central.disconnect()
  await t.rejects(pending, { code: 'SESSION_CLOSED' })
  t.same(await session.ended, { reason: 'disconnected' })
  t.ok(session.signal.aborted)
  const again = binding.connect({ mtu: 23 })
  again.start()
  again.send(bytes(100))
  t.same(await sessions[1]!.receive(), bytes(100), 'a retry on a new connection arrives whole')
})

t.test('bad framing ends the session with a typed error and tells the wallet (State 0x02)', async (t) => {
  for (const [chunk, code] of [
    [Uint8Array.of(0x07, 1), 'bad_encoding'],
    [new Uint8Array(0), 'truncated'],
  ] as const) {
    const { binding, sessions } = await started(t)
    const central = binding.connect()
    central.start()
    central.writeChunk(chunk)
    const session = sessions[0]!
    const err = await session.receive().catch((e: unknown) => e)
    t.ok(isProtocolError(err, code), code)
    t.equal((await session.ended).reason, 'protocol_error')
    t.same(central.notifications.state, [Uint8Array.of(BLE_STATE.end)])
    await t.rejects(session.receive(), { code: 'SESSION_CLOSED' }, 'then closed')
    await binding.stop()
  }
})

t.test('oversized: rejected before buffering past maxMessageSize', async (t) => {
  const { binding, sessions } = await started(t, { maxMessageSize: 300 })
  const central = binding.connect({ mtu: 185 })
  central.start()
  central.send(bytes(300))
  t.equal((await sessions[0]!.receive()).length, 300, 'at the limit is fine')
  central.send(bytes(301))
  await t.rejects(sessions[0]!.receive(), { code: 'oversized' })
})

t.test('State: 0x02 ends the session; box close() notifies 0x02; sends after the end fail', async (t) => {
  const { binding, sessions } = await started(t)
  const central = binding.connect()
  central.start()
  central.end()
  t.equal((await sessions[0]!.ended).reason, 'ended_by_peer')
  central.start()
  await sessions[1]!.close()
  t.equal((await sessions[1]!.ended).reason, 'ended_by_box')
  t.same(central.notifications.state, [Uint8Array.of(BLE_STATE.end)])
  await t.rejects(sessions[1]!.send(bytes(3)), { code: 'SESSION_CLOSED' })
  t.equal(central.writeState(0x09), 0x0e, 'unknown State values are refused')
})

t.test('chunks outside a session are refused and reported', async (t) => {
  const { binding } = await started(t)
  const central = binding.connect()
  t.equal(central.writeChunk(Uint8Array.of(0x00, 1)), 0x0e)
  t.equal(binding.errors[0]?.name, 'BleError')
  t.match(binding.errors[0], { code: 'NO_SESSION' })
})

t.test('Ident honours the read offset (bleno leaves it to the characteristic)', async (t) => {
  const { binding } = await started(t)
  const central = binding.connect()
  t.same(central.readIdent(), Uint8Array.of(9, 8, 7, 6, 5))
  t.same(central.readIdent(3), Uint8Array.of(6, 5))
  t.equal(central.readIdent(6), undefined, 'past the end is an invalid offset')
})

t.test('receive times out with ProtocolError timeout; send needs a Server2Client subscriber', async (t) => {
  const { binding, sessions } = await started(t)
  const central = binding.connect({ subscribe: false })
  central.start()
  await t.rejects(sessions[0]!.receive(20), { code: 'timeout' })
  await t.rejects(sessions[0]!.send(bytes(3)), { code: 'NOT_SUBSCRIBED' })
})

t.test('a failing handler is reported and its session closed; stop() ends sessions as stopped', async (t) => {
  const errors: Error[] = []
  const binding = new SimBleBinding({ deviceTag: 'T3', onError: (e) => errors.push(e) })
  const sessions: BleSession[] = []
  await binding.start((s) => {
    sessions.push(s)
    if (sessions.length === 1) throw new Error('boom')
  })
  const central = binding.connect()
  central.start()
  t.equal((await sessions[0]!.ended).reason, 'ended_by_box')
  t.match(errors[0], { code: 'HANDLER_FAILED' })
  central.start()
  await binding.stop()
  t.equal((await sessions[1]!.ended).reason, 'stopped')
  t.equal(binding.advertisement, undefined)
})

t.test(
  'a link with no traffic is dropped after idleTimeoutMs, freeing the box for the next wallet',
  async (t) => {
    const binding = new SimBleBinding({ deviceTag: 'T4', idleTimeoutMs: 30 })
    const sessions: BleSession[] = []
    await binding.start((s) => {
      sessions.push(s)
    })
    t.teardown(() => binding.stop())
    const central = binding.connect()
    central.start()
    t.equal((await sessions[0]!.ended).reason, 'idle_timeout')
    t.notOk(central.connected, 'the box dropped the link')
    t.ok(binding.advertisement, 'advertising again')
  },
)
