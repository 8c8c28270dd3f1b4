import t from 'tap'
import { balances, checkInvariants } from '../../cloud-bridge/src/ledger/index.js'
import { Customer } from '../src/customer.js'
import { startTestStack } from '../src/test-stack.js'
import { waitUntil } from '../src/wait.js'

t.test('re-delivered and reordered batches move money once', async (t) => {
  const { stack, info } = await startTestStack(t, 'dup')
  const base = `opg/v1/${info.tenantId}/${info.box.deviceId}`
  const broker = stack.bridge.embeddedBroker!.aedes
  const batches: Buffer[] = []
  let acks = 0
  broker.on('publish', (packet) => {
    if (packet.topic === `${base}/up/tx`) batches.push(Buffer.from(packet.payload))
    if (packet.topic === `${base}/down/ack`) acks++
  })
  const republish = (payload: Buffer) =>
    new Promise<void>((resolve, reject) =>
      broker.publish(
        { cmd: 'publish', topic: `${base}/up/tx`, payload, qos: 1, retain: false, dup: false },
        (err) => (err ? reject(err) : resolve()),
      ),
    )

  const joe = await Customer.register(info.httpUrl, info.operatorKey, 'Joe', '+15550004001')
  await joe.topUpByCard(5000, 'EUR')
  await joe.loadPurse(3000, 1000)
  for (const amount of [100, 200]) {
    const p = await joe.wallet.pay({ to: info.box.sticker, amount })
    t.ok((await stack.box.node.accept({ qrText: p.qrText })).ok, `the box accepts ${amount}`)
    await stack.box.node.syncNow(15_000)
  }
  await waitUntil('both batches and their acks on the wire', () => batches.length >= 2 && acks >= 2)
  const held = async () =>
    (
      await balances(stack.bridge.db, info.tenantId, { ownerId: info.box.merchantId, kind: 'merchant_held' })
    )[0]?.balance
  t.equal(await held(), 300n, 'both payments held')
  t.equal(batches.length, 2, 'one sealed batch per sync')

  const acksBefore = acks
  const replay = [...batches].reverse()
  for (const round of [1, 2]) {
    for (const b of replay) await republish(b)
    t.comment(`round ${round}: ${replay.length} batches published again`)
  }
  await waitUntil('the bridge to ack every re-delivery', () => acks >= acksBefore + 2 * replay.length)
  t.equal(await held(), 300n, 'no money moved twice')
  const rows = await stack.bridge.db.query<{ deliveries: number }>(
    'SELECT deliveries FROM device_batches WHERE tenant_id = $1 AND device_id = $2 ORDER BY received_at',
    [info.tenantId, info.box.deviceId],
  )
  t.same(
    rows.rows.map((r) => r.deliveries),
    replay.map(() => 3),
    'each batch recorded once, delivered three times',
  )
  const payments = await stack.operator.get(`/v1/merchants/${info.box.merchantId}/payments`)
  t.equal(payments.payments.length, 2, 'two payments, not more')
  t.same(await checkInvariants(stack.bridge.db, info.tenantId), [], 'the ledger balances')
})
