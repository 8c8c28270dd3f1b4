// Case 3 end to end: the merchant's box is offline (no MQTT link), the customer pays the box's invoice online
// by card. The bridge (OnlinePayments on PGlite, sandbox card provider, SMS outbox worker) sends the
// authenticated `OPG1 PAID …` SMS; the "network" puts it on the SIM of the AT modem simulator behind a socat
// pty; the box's SerialModem reads it through the real serialport native binding; PaidNotices verifies it,
// the file vault journals it, and the green LED lights. A forged SMS injected at the simulator is refused.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deviceSecretAad } from '@opg/cloud-bridge'
import {
  type Confirmation,
  type ConfirmLogger,
  FileVault,
  gpio as gpioBindings,
  modem as modemBindings,
  openStateStore,
  PaidNotices,
  stateCounterStore,
} from '@opg/node-runtime'
import { deriveKey, id8ToBytes } from '@opg/protocol'
import { nodeBackend as c } from '@opg/protocol/node'
import { startPtyModemSim } from '@opg/testkit/modem-sim/index.js'
import t from 'tap'
// The bridge's services and its test database helpers are not part of its package surface; system tests
// reach them by path, as the wallet SDK's bridge test does.
import { migrate } from '../../cloud-bridge/src/db/migrate.js'
import { MasterKey } from '../../cloud-bridge/src/issuer/master-key.js'
import { OnlinePayments, SandboxProvider } from '../../cloud-bridge/src/online/index.js'
import { listOutbox, SmsOutbox } from '../../cloud-bridge/src/sms/index.js'
import { createTestDb, postgresAvailable, seedTenant } from '../../cloud-bridge/test/support/databases.js'
import { PtyModemSmsProvider } from './support/pty-sms-provider.js'

const MODEM_NUMBER = '+15550000099'
const WEBHOOK_SECRET = 'whsec_case3'

/** Resolve with the first value `subscribe` reports that matches, or reject after `ms`. */
function waitFor<T>(
  subscribe: (fn: (v: T) => void) => () => void,
  match: (v: T) => boolean,
  ms: number,
  what: string,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off()
      reject(new Error(`timed out waiting for ${what}`))
    }, ms)
    const off = subscribe((v) => {
      if (!match(v)) return
      clearTimeout(timer)
      off()
      resolve(v)
    })
  })
}

interface LogLine {
  level: string
  obj: Record<string, unknown>
  msg?: string | undefined
}

const pg = await postgresAvailable()
for (const kind of ['pglite', 'postgres'] as const)
  t.test(
    `case 3 (${kind}): online card payment → SMS → pty modem → box verifies, journals and lights green`,
    { skip: kind === 'postgres' && !pg && !process.env.CI ? 'PostgreSQL not reachable' : false },
    async (t) => {
      // ── the bridge, with no MQTT link: the box counts as offline ──
      const scratch = await createTestDb(kind)
      t.teardown(() => scratch.drop())
      await migrate(scratch.db)
      const db = scratch.db
      const tenantId = await seedTenant(db, { currency: 'INR' })
      const sealer = new MasterKey(c, randomBytes(16))
      const merchantId = randomBytes(8).toString('hex')
      const deviceId = randomBytes(8).toString('hex')
      const deviceSecret = randomBytes(16)
      await db.query(
        'INSERT INTO merchants (tenant_id, id, name, phone, bank_account_ref) VALUES ($1, $2, $3, $4, $5)',
        [tenantId, merchantId, 'Asha Tea Stall', '+15550000001', 'acct_asha'],
      )
      await db.query(
        'INSERT INTO devices (tenant_id, id, merchant_id, sealed_secret, modem_number) VALUES ($1, $2, $3, $4, $5)',
        [
          tenantId,
          deviceId,
          merchantId,
          sealer.seal(deviceSecret, deviceSecretAad(tenantId, deviceId)),
          MODEM_NUMBER,
        ],
      )
      let online: OnlinePayments | undefined
      const cards = new SandboxProvider({
        webhookSecret: WEBHOOK_SECRET,
        deliver: async (body, sig) => {
          await online!.handleWebhook(body, sig)
        },
        onError: (err) => t.error(err, 'webhook delivery'),
      })
      t.teardown(() => cards.stop())
      online = new OnlinePayments({
        db,
        provider: cards,
        c,
        sealer,
        link: null,
        webhookSecret: WEBHOOK_SECRET,
        now: () => new Date(),
      })

      // ── the mobile network: the modem simulator on a socat pty, fed by the outbox worker ──
      const sim = await startPtyModemSim()
      t.teardown(() => sim.stop())
      const network = new PtyModemSmsProvider(new Map([[MODEM_NUMBER, sim.modem]]))
      const outbox = new SmsOutbox({
        db,
        provider: network,
        pollIntervalMs: 50,
        onError: (err) => t.error(err, 'outbox'),
      })

      // ── the box: SerialModem on the pty, SimGpio, file vault and encrypted state under the device's keys ──
      const dataDir = await mkdtemp(join(tmpdir(), 'opg-case3-'))
      t.teardown(() => rm(dataDir, { recursive: true, force: true }))
      const idBytes = id8ToBytes(deviceId)
      const vaultKey = deriveKey(c, deviceSecret, 'vault', idBytes)
      const vault = await FileVault.open({ dir: join(dataDir, 'vault'), key: vaultKey })
      t.teardown(() => vault.close())
      const state = await openStateStore<{ version: 1; [k: string]: unknown }>({
        dir: dataDir,
        key: deriveKey(c, deviceSecret, 'state', idBytes),
        defaults: { version: 1 },
      })
      const modem = new modemBindings.SerialModem({
        path: sim.devicePath,
        commandTimeoutMs: 2000,
        healthCheckMs: 0,
        recoveryDelayMs: 200,
        resetWaitMs: 1000,
        onError: (err) => t.comment(`modem: ${String(err)}`),
      })
      const gpio = new gpioBindings.SimGpio()
      const lines: LogLine[] = []
      const logWatchers = new Set<(l: LogLine) => void>()
      const log: ConfirmLogger = Object.fromEntries(
        ['debug', 'info', 'warn', 'error'].map((level) => [
          level,
          (obj: object, msg?: string) => {
            const line = { level, obj: obj as Record<string, unknown>, msg }
            lines.push(line)
            for (const w of [...logWatchers]) w(line)
          },
        ]),
      ) as unknown as ConfirmLogger
      const notices = new PaidNotices({
        c,
        modem,
        gpio,
        vault,
        counters: stateCounterStore(state),
        deviceId,
        smsKey: deriveKey(c, deviceSecret, 'sms', idBytes),
        clock: { now: () => Date.now() },
        log,
      })
      await gpio.start()
      await notices.start()
      await modem.start()
      outbox.start()
      t.teardown(async () => {
        await outbox.stop()
        await notices.stop()
        await modem.stop()
        await gpio.stop()
      })
      const greens = () => gpio.history.filter((w) => w.line === 'ledOk' && w.on).length

      // ── the customer pays the box's invoice by card ──
      const confirmed = waitFor<Confirmation>(
        (fn) => notices.onConfirmed(fn),
        () => true,
        15_000,
        'confirmation',
      )
      const invoice = await online.createInvoice(tenantId, {
        merchantId,
        deviceId,
        reference: 'INV-2026-0042',
        amount: 25_000n,
        currency: 'INR',
        expiresInSeconds: 900,
      })
      const payment = await online.payInvoice(tenantId, invoice.id, {
        method: 'card',
        cardToken: 'tok_visa',
        idempotencyKey: 'case3-inv-42',
      })
      t.equal((await online.waitSettled(tenantId, payment.id)).status, 'succeeded', 'card payment succeeded')
      outbox.wake()

      const got = await confirmed
      t.match(got, { ref: 'INV-2026-0042', amount: 25000, currency: 'INR', counter: 1, via: 'sms' })
      t.match(vault.notices(), [{ ref: 'INV-2026-0042', counter: 1 }], 'journaled in the vault')
      t.equal(greens(), 1, 'green LED for the merchant')
      t.ok(
        gpio.history.some((w) => w.line === 'buzzer' && w.on),
        'and a beep',
      )
      t.match(network.delivered, [
        { to: MODEM_NUMBER, text: /^OPG1 PAID INV-2026-0042 25000 INR 1 [0-9A-F]{16}$/ },
      ])
      t.ok(
        network.elsewhere.some((m) => m.to === '+15550000001'),
        'the merchant phone got its readable SMS too',
      )
      const boxRows = (await listOutbox(db, tenantId)).filter((m) => m.to === MODEM_NUMBER)
      t.match(boxRows, [{ status: 'sent' }], 'the outbox marked the box SMS sent')
      t.match(await stateCounterStore(state).load(), { high: 1 }, 'counter window persisted')

      // ── attacks at the simulator: a forged SMS and a replay of the real one ──
      const refused = (n: number) =>
        waitFor<LogLine>(
          (fn) => {
            logWatchers.add(fn)
            return () => logWatchers.delete(fn)
          },
          (l) => l.level === 'warn' && lines.filter((x) => x.level === 'warn').length >= n,
          8_000,
          `refusal #${n}`,
        )
      const forgedRefused = refused(1)
      sim.modem.deliverSms('+15557770000', 'OPG1 PAID INV-FAKE 999999 INR 2 0123456789ABCDEF')
      t.match((await forgedRefused).obj, { code: 'bad_tag', via: 'sms' }, 'forged SMS refused and logged')

      const replayRefused = refused(2)
      sim.modem.deliverSms('+15557770000', network.delivered[0]!.text)
      t.match((await replayRefused).obj, { code: 'replay', counter: 1 }, 'replayed SMS refused and logged')

      await notices.idle()
      t.equal(vault.notices().length, 1, 'nothing else recorded')
      t.equal(greens(), 1, 'no further green LED')
      // The modem deletes each message once the box has seen it, so the SIM does not fill up.
      const deadline = Date.now() + 3000
      while (sim.modem.stored().length > 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20))
      t.same(sim.modem.stored(), [], 'SIM storage emptied')
    },
  )
