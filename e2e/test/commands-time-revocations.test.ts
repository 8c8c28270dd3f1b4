import t from 'tap'
import { Customer } from '../src/customer.js'
import { startTestStack } from '../src/test-stack.js'
import { waitUntil } from '../src/wait.js'

const BEHIND_MS = 2 * 60_000

t.test('time and revocations reach the box; replays of them are refused', async (t) => {
  const { stack, info } = await startTestStack(t, 'cmds', {
    boxSystemTime: () => Date.now() - BEHIND_MS,
  })
  const node = stack.box.node
  // The embedded broker lets no stranger subscribe or publish, so the recording and the replays are made on the
  // broker itself — what someone holding the broker (or a tap on an unencrypted link) could do.
  const broker = stack.bridge.embeddedBroker!.aedes
  const cmdTopic = `opg/v1/${info.tenantId}/${info.box.deviceId}/down/cmd`
  const captured: Buffer[] = []
  broker.on('publish', (packet) => {
    if (packet.topic === cmdTopic) captured.push(Buffer.from(packet.payload))
  })
  const replay = (payload: Buffer) =>
    new Promise<void>((resolve, reject) =>
      broker.publish(
        { cmd: 'publish', topic: cmdTopic, payload, qos: 1, retain: false, dup: false },
        (err) => (err ? reject(err) : resolve()),
      ),
    )

  await t.test('the bridge sets the clock of a box two minutes behind', async (t) => {
    await waitUntil('the box clock to be trusted', () => node.report().clock.source === 'trusted', {
      timeoutMs: 30_000,
    })
    const skew = node.report().clock.ms - Date.now()
    t.ok(
      Math.abs(skew) < 10_000,
      `box clock within seconds of the bridge (was ${-BEHIND_MS} ms; now ${skew} ms)`,
    )
  })

  const joe = await Customer.register(info.httpUrl, info.operatorKey, 'Joe', '+15550004101')
  await joe.topUpByCard(5000, 'EUR')
  await joe.loadPurse(3000, 1000)
  const pay = async (amount: number) => {
    const p = await joe.wallet.pay({ to: info.box.sticker, amount })
    return node.accept({ qrText: p.qrText })
  }
  t.ok((await pay(100)).ok, 'the box takes Joe’s payment before the freeze')
  // Commands in flight that someone on the path records: the time, and the list as it is before the freeze.
  await stack.bridge.commands.sendTime(info.tenantId, info.box.deviceId)
  await stack.bridge.commands.sendRevocations(info.tenantId, info.box.deviceId)
  await waitUntil('both recorded on the wire', () => captured.length >= 2, { timeoutMs: 15_000 })
  const beforeFreeze = [...captured]

  await t.test('a frozen wallet paying the box after the box got the revocation: refused', async (t) => {
    const versionBefore = node.report().revocationVersion
    const r = await fetch(`${info.httpUrl}/v1/wallets/${joe.walletId}/freeze`, {
      method: 'POST',
      headers: { authorization: `Bearer ${info.operatorKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'double spend under review' }),
    })
    t.equal(r.status, 200)
    await waitUntil('the new list at the box', () => node.report().revocationVersion > versionBefore, {
      timeoutMs: 30_000,
    })
    t.match(await pay(100), { ok: false, code: 'revoked' })
  })

  await t.test('replayed time and revocations commands are refused', async (t) => {
    const clockBefore = node.report().clock.ms
    const version = node.report().revocationVersion
    const refusedBefore = node.report().commandsRefused
    // Someone on the path replays every command it recorded before the freeze (an empty list, an older time).
    for (const payload of beforeFreeze) await replay(payload)
    await waitUntil(
      'the replays to be refused',
      () => node.report().commandsRefused >= refusedBefore + beforeFreeze.length,
      { timeoutMs: 15_000 },
    )
    t.ok(node.report().clock.ms >= clockBefore, 'the clock did not go back')
    t.equal(node.report().revocationVersion, version, 'the list did not go back')
    t.match(await pay(100), { ok: false, code: 'revoked' }, 'the wallet stays revoked')
  })
})
