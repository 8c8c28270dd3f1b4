// Restarts around a working box: the bridge (with its embedded broker) goes down and comes back while the
// box keeps taking payments, and a private Mosquitto is killed and restarted under a running bridge and box.
// In both, every payment reaches the bridge exactly once and the ledger balances.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger } from '@opg/cloud-bridge'
import t, { type Test } from 'tap'
import { balances, checkInvariants } from '../../cloud-bridge/src/ledger/index.js'
import { Customer } from '../src/customer.js'
import { freePort, MosquittoProcess, mosquittoInstalled } from '../src/services.js'
import { LocalStack } from '../src/stack.js'
import { waitUntil } from '../src/wait.js'

async function world(t: Test, env: NodeJS.ProcessEnv) {
  const dataDir = await mkdtemp(join(tmpdir(), 'opg-restart-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const stack = new LocalStack({
    dataDir,
    bridgeLogger: createLogger('silent'),
    env: { OPG_HTTP_PORT: '0', OPG_MQTT_EMBEDDED_PORT: '0', OPG_VERIFY_WORKERS: '0', ...env },
  })
  await stack.start()
  t.teardown(() => stack.stop())
  const ivy = await Customer.register(stack.info.httpUrl, stack.info.operatorKey, 'Ivy', '+15550003001')
  await ivy.topUpByCard(5000, 'EUR')
  await ivy.loadPurse(4000, 2000)
  const pay = async (amount: number) => {
    const p = await ivy.wallet.pay({ to: stack.info.box.sticker, amount })
    const out = await stack.box.node.accept({ qrText: p.qrText })
    t.ok(out.ok, `the box accepts ${amount}`)
    return p
  }
  const held = async () =>
    (
      await balances(stack.bridge.db, stack.info.tenantId, {
        ownerId: stack.info.box.merchantId,
        kind: 'merchant_held',
      })
    )[0]?.balance ?? 0n
  return { stack, ivy, pay, held }
}

t.test('bridge restart: payments taken while it is down arrive once it is back', async (t) => {
  const { stack, pay, held } = await world(t, {})
  const p1 = await pay(300)
  await stack.box.node.syncNow(15_000)
  t.equal(await held(), 300n, 'first payment held at the bridge')

  const during: string[] = []
  await stack.restartBridge(async () => {
    await waitUntil('the box to notice the broker is gone', () => !stack.box.node.sync.online)
    during.push((await pay(400)).txId, (await pay(500)).txId)
    t.equal(stack.box.node.report().pendingCount, 2, 'kept on the box while the bridge is down')
  })
  const synced = await stack.box.node.syncNow(20_000)
  t.equal(synced.pendingCount, 0, 'the box synced after the bridge came back')
  for (const tx of [p1.txId, ...during])
    t.equal((await stack.operator.get(`/v1/payments/${tx}`)).status, 'held', `payment ${tx.slice(-6)} held`)
  t.equal(await held(), 1200n, 'each payment held once')
  t.same(await checkInvariants(stack.bridge.db, stack.info.tenantId), [], 'the ledger balances')
})

const mosquitto = await mosquittoInstalled()
t.test(
  'broker restart: Mosquitto killed and restarted under a running bridge and box',
  { skip: mosquitto ? false : 'the mosquitto binary is not installed' },
  async (t) => {
    const broker = new MosquittoProcess(await freePort())
    await broker.start()
    t.teardown(() => broker.stop('SIGKILL'))
    const { stack, ivy, pay, held } = await world(t, { MQTT_URL: broker.url })
    await pay(250)
    await stack.box.node.syncNow(15_000)
    t.equal(await held(), 250n, 'first payment held')

    await broker.stop('SIGKILL')
    await waitUntil('the box to notice the broker is gone', () => !stack.box.node.sync.online)
    const p2 = await pay(350)
    await broker.start()
    const synced = await stack.box.node.syncNow(30_000)
    t.equal(synced.pendingCount, 0, 'the box synced through the restarted broker')
    await waitUntil('the bridge to hold the second payment', async () => (await held()) === 600n, {
      timeoutMs: 20_000,
    })
    t.equal(
      (await stack.operator.get(`/v1/payments/${p2.txId}`)).status,
      'held',
      'the second payment is held',
    )
    const up = await ivy.sync()
    t.same(
      up.results.map((r) => r.status),
      ['confirmed', 'confirmed'],
      'the payer syncs: both confirmed, none doubled',
    )
    t.same(await checkInvariants(stack.bridge.db, stack.info.tenantId), [], 'the ledger balances')
  },
)
