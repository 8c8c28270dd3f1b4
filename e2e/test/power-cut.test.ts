// Power cut of the box in the middle of taking payments: the box runs as its own `opg-node start` process,
// out of coverage; two payments are confirmed to customers (one through `opg-node scan` of the wallet's PNG,
// one over the control socket), a third is being presented when the power goes (SIGKILL). After the restart
// nothing confirmed is lost, nothing is doubled, the third payment is either kept or taken again when the
// customer shows the same QR, and everything reaches the bridge exactly once.
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger } from '@opg/cloud-bridge'
import { type AcceptOutcome, controlRequest, controlSocketPath, type NodeReport } from '@opg/node-runtime'
import { writeQrPng } from '@opg/wallet-sdk/node'
import t from 'tap'
import { balances, checkInvariants } from '../../cloud-bridge/src/ledger/index.js'
import { Customer } from '../src/customer.js'
import { NodeProcess, OPG_NODE, ROOT } from '../src/node-process.js'
import { freePort } from '../src/services.js'
import { LocalStack } from '../src/stack.js'

function scan(config: string, image: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(
      process.execPath,
      ['--conditions=@opg/source', OPG_NODE, 'scan', image, '--config', config],
      { cwd: ROOT },
    )
    let out = ''
    p.stdout.on('data', (d) => {
      out += d
    })
    p.stderr.on('data', (d) => {
      out += d
    })
    p.once('exit', (code) => resolve({ code, out }))
  })
}

t.test('power cut mid-payment: nothing lost, nothing doubled', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'opg-powercut-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const stack = new LocalStack({
    dataDir,
    startBox: false,
    bridgeLogger: createLogger('silent'),
    env: { OPG_HTTP_PORT: '0', OPG_MQTT_EMBEDDED_PORT: '0', OPG_VERIFY_WORKERS: '0' },
  })
  const info = await stack.start()
  t.teardown(() => stack.stop())
  const config = info.box.configPath
  const socket = controlSocketPath(info.box.dataDir)
  const gus = await Customer.register(info.httpUrl, info.operatorKey, 'Gus', '+15550002001')
  await gus.topUpByCard(5000, 'EUR')
  await gus.loadPurse(4000, 2000)

  // Out of coverage: the box's broker address leads nowhere.
  const nowhere = `mqtt://127.0.0.1:${await freePort()}`
  let box = new NodeProcess(config, { OPG_MQTT__URL: nowhere })
  t.teardown(() => box.kill())
  await box.start()

  const p1 = await gus.wallet.pay({ to: info.box.sticker, amount: 500 })
  const png = join(dataDir, 'p1.png')
  await writeQrPng(png, p1.qrText)
  const s1 = await scan(config, png)
  t.equal(s1.code, 0, `opg-node scan accepts the wallet's QR image: ${s1.out.trim()}`)
  const p2 = await gus.wallet.pay({ to: info.box.sticker, amount: 700 })
  const o2 = await controlRequest<AcceptOutcome>(socket, { cmd: 'accept', qrText: p2.qrText })
  t.ok(o2.ok, 'second payment accepted')

  const p3 = await gus.wallet.pay({ to: info.box.sticker, amount: 900 })
  const inFlight = controlRequest<AcceptOutcome>(socket, { cmd: 'accept', qrText: p3.qrText }).then(
    (o) => o,
    () => undefined,
  )
  await box.kill()
  const o3 = await inFlight
  t.comment(`third payment when the power went: ${o3 ? (o3.ok ? 'confirmed' : o3.code) : 'no answer'}`)

  // Power back, coverage back.
  box = new NodeProcess(config, { OPG_MQTT__URL: info.mqttUrl })
  await box.start()
  const afterBoot = await controlRequest<NodeReport>(socket, { cmd: 'status' })
  t.ok(
    afterBoot.payments >= 2,
    `confirmed payments survived the power cut (${afterBoot.payments} on the box)`,
  )
  if (o3?.ok) t.equal(afterBoot.payments, 3, 'a payment confirmed to the customer is never lost')

  // The customer whose payment was cut off shows the same QR again (never a new payment).
  const again = await controlRequest<AcceptOutcome>(socket, {
    cmd: 'accept',
    qrText: gus.wallet.payment(p3.txId).qrText,
  })
  if (afterBoot.payments === 3)
    t.match(again, { ok: false, code: 'replay' }, 'kept before the cut: not taken twice')
  else t.match(again, { ok: true }, 'lost before it was durable: taken now')
  const replay1 = await controlRequest<AcceptOutcome>(socket, { cmd: 'accept', qrText: p1.qrText })
  t.match(replay1, { ok: false, code: 'replay' }, 'an earlier payment shown again is refused')

  const synced = await controlRequest<{ pendingCount: number }>(socket, { cmd: 'sync', timeoutMs: 20_000 })
  t.equal(synced.pendingCount, 0, 'the box synced everything')
  const report = await controlRequest<NodeReport>(socket, { cmd: 'status' })
  t.equal(report.payments, 3, 'three payments on the box, no more')

  const op = stack.operator
  for (const p of [p1, p2, p3])
    t.equal((await op.get(`/v1/payments/${p.txId}`)).status, 'held', `${p.amount} held at the bridge`)
  const held = await balances(stack.bridge.db, info.tenantId, {
    ownerId: info.box.merchantId,
    kind: 'merchant_held',
  })
  t.equal(held[0]?.balance, 2100n, 'the merchant is owed 5 + 7 + 9, once')
  const up = await gus.sync()
  t.same(
    up.results.map((r) => r.status),
    ['confirmed', 'confirmed', 'confirmed'],
    'the payer syncs: all confirmed',
  )
  t.same(await checkInvariants(stack.bridge.db, info.tenantId), [], 'the ledger balances')
  t.equal(await box.stop(), 0, 'the box stops cleanly')
})
