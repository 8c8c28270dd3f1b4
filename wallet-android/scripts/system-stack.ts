/**
 * The real system for the Java wallet's tests: the e2e package's LocalStack (bridge with embedded PGlite and
 * MQTT broker, one provisioned box with simulated camera, GPIO and modem) on free ports, with the box's BLE
 * payment service on the simulated GATT binding so the Java wallet plays the GATT central over this pipe.
 *
 * Speaks JSON lines: prints `{"ready": {...}}` once up, then answers each request line `{"id", "op", ...}` with
 * `{"id", "ok": true, "result"}` or `{"id", "ok": false, "error"}`. Stops when stdin closes.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { createLogger } from '@opg/cloud-bridge'
import { ble } from '@opg/node-runtime'
import { deviceTag, toHex } from '@opg/protocol'
import { Customer } from '../../e2e/src/customer.js'
import { readDoubleSpendProof } from '../../e2e/src/proof.js'
import { LocalStack } from '../../e2e/src/stack.js'
import { nextEvent, waitUntil } from '../../e2e/src/wait.js'

type Req = { id: number; op: string } & Record<string, unknown>

const fromHex = (h: unknown) => new Uint8Array(Buffer.from(String(h), 'hex'))
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'opg-java-'))
  let binding: ble.SimBleBinding | undefined
  const stack = new LocalStack({
    dataDir,
    bridgeLogger: createLogger('silent'),
    env: { OPG_HTTP_PORT: '0', OPG_MQTT_EMBEDDED_PORT: '0', OPG_VERIFY_WORKERS: '0' },
    boxBle: (deviceId) => {
      binding = new ble.SimBleBinding({ deviceTag: deviceTag(deviceId) })
      return binding
    },
  })
  const info = await stack.start()
  const tenant = await stack.operator.get('/v1/tenant')
  let central: ble.SimCentral | undefined
  type Heard = { ref: string; via: string; amount: number }
  const watched = new Map<string, Promise<Heard>>()
  const deviceOnline = async (want: boolean) => {
    await waitUntil('the box link', () => stack.box.node.sync.online === want, { timeoutMs: 20_000 })
    await waitUntil('the bridge to see the box', async () => {
      const d = await stack.operator.get(`/v1/devices/${info.box.deviceId}`)
      return d.online === want
    })
  }
  const read = { server2Client: 0, state: 0 }

  const handlers: Record<string, (r: Req) => Promise<unknown>> = {
    /** The box's camera sees a phone showing this QR text; resolves with the box's decision. */
    showQr: async (r) => {
      const out = await stack.box.showQr(String(r.text))
      return out.ok ? { ok: true, receipt: toHex(out.receipt.bytes) } : { ok: false, code: out.code }
    },
    syncBox: async () => ({ pendingCount: (await stack.box.node.syncNow(20_000)).pendingCount }),
    'ble.connect': async (r) => {
      if (!binding) throw new Error('the box has no BLE binding')
      central = binding.connect({ mtu: Number(r.mtu ?? 185) })
      read.server2Client = 0
      read.state = 0
      return { mtu: central.mtu }
    },
    'ble.writeState': async (r) => {
      const v = fromHex(r.hex)
      if (!central) throw new Error('not connected')
      return { att: v.length === 1 ? central.writeState(v[0]!) : central.start(v.subarray(1)) }
    },
    'ble.write': async (r) => {
      if (!central) throw new Error('not connected')
      return { att: central.writeChunk(fromHex(r.hex)) }
    },
    /** The next notification (Server2Client first, then State), waiting up to timeoutMs; null when none came. */
    'ble.next': async (r) => {
      const until = Date.now() + Number(r.timeoutMs ?? 5000)
      while (central) {
        for (const which of ['server2Client', 'state'] as const) {
          const list = central.notifications[which]
          if (read[which] < list.length) return { char: which, hex: toHex(list[read[which]++]!) }
        }
        if (!central.connected) throw new Error('link down')
        if (Date.now() >= until) return null
        await sleep(5)
      }
      throw new Error('not connected')
    },
    'ble.close': async () => {
      central?.disconnect()
      central = undefined
      return {}
    },
    /** An invoice for this box, as the merchant's till (merchant key) makes it. */
    invoice: async (r) =>
      stack.operator.as(info.box.merchantKey).post('/v1/invoices', {
        reference: r.reference,
        amount: r.amount,
        currency: tenant.currency,
        deviceId: info.box.deviceId,
      }),
    /** Take the box out of coverage (its MQTT link), or bring it back; resolves once box and bridge agree. */
    boxOffline: async () => {
      stack.link.down()
      await deviceOnline(false)
      return {}
    },
    boxOnline: async () => {
      stack.link.up()
      await deviceOnline(true)
      return {}
    },
    /** Start listening for the box hearing that invoice `ref` was paid (MQTT or SMS); `heard` waits for it. */
    watch: async (r) => {
      const ref = String(r.ref)
      const p = nextEvent<Heard>(
        `the box to hear ${ref} paid`,
        (fn) => stack.box.node.notices.onConfirmed(fn),
        (x) => x.ref === ref,
        30_000,
      )
      p.catch(() => undefined)
      watched.set(ref, p)
      return {}
    },
    heard: async (r) => {
      const h = await watched.get(String(r.ref))
      return h ? { via: h.via, amount: h.amount } : null
    },
    /** A TypeScript wallet (the wallet-sdk core) registers, loads a purse and signs a QR payment to the box. */
    tsPay: async (r) => {
      const cust = await Customer.register(info.httpUrl, info.operatorKey, 'TS', String(r.phone))
      await cust.topUpByCard(Number(r.amount) * 4, tenant.currency)
      await cust.loadPurse(Number(r.amount) * 2, Number(r.amount))
      const p = await cust.wallet.pay({ to: info.box.sticker, amount: Number(r.amount) })
      return { token: toHex(p.token.bytes), qrText: p.qrText, walletId: cust.walletId }
    },
    proof: async (r) => (await readDoubleSpendProof(stack, String(r.txId))) ?? null,
  }

  const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`)
  out({
    ready: {
      httpUrl: info.httpUrl,
      operatorKey: info.operatorKey,
      tenantId: info.tenantId,
      currency: tenant.currency,
      sticker: info.box.sticker,
      deviceId: info.box.deviceId,
      merchantId: info.box.merchantId,
    },
  })
  const lines = createInterface({ input: process.stdin })
  for await (const line of lines) {
    if (!line.trim()) continue
    const req = JSON.parse(line) as Req
    try {
      const h = handlers[req.op]
      if (!h) throw new Error(`unknown op ${req.op}`)
      out({ id: req.id, ok: true, result: (await h(req)) ?? null })
    } catch (err) {
      out({ id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) })
    }
  }
  await stack.stop()
  await rm(dataDir, { recursive: true, force: true })
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err)
    process.exit(1)
  },
)
