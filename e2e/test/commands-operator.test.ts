import t from 'tap'
import { Customer } from '../src/customer.js'
import { startTestStack } from '../src/test-stack.js'
import { waitUntil } from '../src/wait.js'

t.test('sync now and a config override reach the box', async (t) => {
  const { stack, info } = await startTestStack(t, 'opcmds')
  const node = stack.box.node
  await waitUntil('the box online', () => node.report().online, { timeoutMs: 30_000 })
  const post = (path: string, body?: unknown) =>
    fetch(`${info.httpUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${info.operatorKey}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
  const device = info.box.deviceId

  await t.test('sync now: the box publishes its status at once', async (t) => {
    const statusTopic = `opg/v1/${info.tenantId}/${device}/up/status`
    const broker = stack.bridge.embeddedBroker!.aedes
    let statuses = 0
    broker.on('publish', (packet) => {
      if (packet.topic === statusTopic) statuses++
    })
    // Let the start-up traffic (status on connect, time and list commands and the statuses they cause) settle.
    let last = -1
    await waitUntil(
      'a quiet link',
      () => {
        const quiet = statuses === last
        last = statuses
        return quiet
      },
      { timeoutMs: 30_000, intervalMs: 2_000 },
    )
    const before = statuses
    const r = await post(`/v1/devices/${device}/sync-now`)
    t.equal(r.status, 202)
    t.match(await r.json(), { sent: true, online: true })
    await waitUntil('a status after sync now', () => statuses > before, { timeoutMs: 15_000 })
    t.pass('the box answered sync now with its status')
  })

  await t.test('config overrides are stored by the box, field by field', async (t) => {
    const first = await post(`/v1/devices/${device}/config`, {
      config: { exposure: { maxUnsyncedTotal: 12_345 } },
    })
    t.equal(first.status, 202)
    await waitUntil('the first override at the box', () => node.report().configOverride !== undefined, {
      timeoutMs: 15_000,
    })
    const second = await post(`/v1/devices/${device}/config`, {
      config: { exposure: { maxPerWalletPerDay: 678 } },
    })
    t.equal(second.status, 202)
    await waitUntil(
      'the second override at the box',
      () =>
        (node.report().configOverride?.exposure as { maxPerWalletPerDay?: number } | undefined)
          ?.maxPerWalletPerDay === 678,
      { timeoutMs: 15_000 },
    )
    t.same(node.report().configOverride, { exposure: { maxUnsyncedTotal: 12_345, maxPerWalletPerDay: 678 } })
  })

  await t.test('ingest latency and outcomes on /metrics', async (t) => {
    const joe = await Customer.register(info.httpUrl, info.operatorKey, 'Joe', '+15550004102')
    await joe.topUpByCard(5000, 'EUR')
    await joe.loadPurse(3000, 1000)
    const p = await joe.wallet.pay({ to: info.box.sticker, amount: 250 })
    t.ok((await node.accept({ qrText: p.qrText })).ok)
    await waitUntil('the payment synced', () => node.report().pendingCount === 0, { timeoutMs: 30_000 })
    const text = await (await fetch(`${info.httpUrl}/metrics`)).text()
    const count = (kind: string) =>
      Number(
        new RegExp(`^opg_ingest_duration_seconds_count\\{kind="${kind}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0,
      )
    t.ok(count('status') > 0, 'statuses timed')
    t.ok(count('batch') > 0, 'the batch timed until its ack was with the broker')
    t.match(text, /^opg_ingest_tokens_total\{outcome="accepted"\} [1-9]/m, 'its token counted as accepted')
    const links = [...text.matchAll(/^opg_mqtt_connected\{client="([^"]+)"\} (\d)$/gm)]
    t.same(
      links.map((m) => [m[1]!.replace(/^.*?(-pub|-cmd|-boxcmd)?$/, '$1'), m[2]]).sort(),
      [
        ['', '1'],
        ['-boxcmd', '1'],
        ['-cmd', '1'],
        ['-pub', '1'],
      ],
      "the bridge's MQTT clients on the embedded broker, each connected",
    )
  })
})
