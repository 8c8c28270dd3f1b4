/**
 * The product's payment cases, played against a running LocalStack and narrated step by step:
 *   1. online: a card-paid invoice settled to the merchant's bank; a wallet→merchant QR transfer;
 *   2. box and customers offline: QR payments through the box's camera, sync, hold, one payer confirms,
 *      the other is auto-approved when the hold passes (SMS to the payer);
 *   3. box offline, customer pays online: the authenticated SMS reaches the box's modem;
 *   4. box online, customer offline: held at once, confirmed when the payer syncs;
 *   5. a fraud claim reversed through the ledger, and a cloned wallet's double spend caught with proof.
 * Every outcome goes through the Narrator, which decides the exit code.
 */
import { randomUUID } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type Confirmation, camera as cameraBindings } from '@opg/node-runtime'
import { qrPng } from '@opg/wallet-sdk/node'
import { balances } from '../../cloud-bridge/src/ledger/index.js'
import type { Api } from './api.js'
import type { BleRig } from './ble-rig.js'
import { Customer } from './customer.js'
import { money, type Narrator } from './narrator.js'
import { readDoubleSpendProof } from './proof.js'
import type { LocalStack } from './stack.js'
import { nextEvent, waitUntil } from './wait.js'

export interface ScenarioOptions {
  stack: LocalStack
  n: Narrator
  /** The bridge's hold period in seconds (shortened by config for the demo). */
  holdSeconds: number
  /** Where the rendered QR images are written. */
  outDir: string
  /** The virtual BLE radio with the box on it; without it every offline payment goes by QR. */
  ble?: BleRig
  /** Why there is no BLE, to say so in the narration. */
  bleMissing?: string
}

/** Play every case; failures are recorded in the narrator, not thrown (except setup failures). */
export async function runScenario(o: ScenarioOptions): Promise<void> {
  const s = new Scenario(o)
  await s.run()
}

class Scenario {
  readonly o: ScenarioOptions
  readonly n: Narrator
  readonly stack: LocalStack
  readonly cur: string
  readonly scanner = new cameraBindings.QrScanner()

  constructor(o: ScenarioOptions) {
    this.o = o
    this.n = o.n
    this.stack = o.stack
    this.cur = o.stack.box.config.currency
  }

  get info() {
    return this.stack.info
  }
  get box() {
    return this.stack.box
  }
  get op() {
    return this.stack.operator
  }
  m(amount: number | bigint): string {
    return money(amount, this.cur)
  }

  async run(): Promise<void> {
    await this.scanner.start()
    try {
      // The box has just started: begin once the bridge has its online status.
      await this.goOnline()
      const cases: [string, () => Promise<void>][] = [
        ['Case 1 — online: card invoice and wallet→merchant transfer', () => this.case1()],
        ['Case 2 — box and customers offline', () => this.case2()],
        ['Case 3 — box offline, customer pays online', () => this.case3()],
        ['Case 4 — box online, customer offline', () => this.case4()],
        ['Case 5 — a fraud claim and a cloned wallet', () => this.case5()],
      ]
      for (const [title, fn] of cases) {
        this.n.section(title)
        try {
          await fn()
        } catch (err) {
          this.n.fail('the case ran to its end', err)
          if (!this.box.node.sync.online) this.stack.link.up()
        }
      }
    } finally {
      await this.scanner.stop()
    }
  }

  /** The merchant's ledger accounts at the bridge, by kind. */
  async merchantMoney(): Promise<Record<string, bigint>> {
    const rows = await balances(this.stack.bridge.db, this.info.tenantId, {
      ownerId: this.info.box.merchantId,
    })
    return Object.fromEntries(rows.map((r) => [r.kind, r.balance]))
  }

  async status(txId: string): Promise<string> {
    return (await this.op.get(`/v1/payments/${txId}`)).status
  }

  async customer(name: string, phone: string, topUp: number, purse?: { amount: number; limit: number }) {
    const cust = await Customer.register(this.info.httpUrl, this.info.operatorKey, name, phone)
    await cust.topUpByCard(topUp, this.cur)
    this.n.say(`${name} registers a wallet (${phone}) and tops it up by card with ${this.m(topUp)}.`)
    if (purse) {
      const p = await cust.loadPurse(purse.amount, purse.limit)
      this.n.say(
        `${name} loads an offline purse of ${this.m(p.remaining)} (at most ${this.m(p.perPaymentLimit)} a payment).`,
      )
    }
    return cust
  }

  /** The customer's wallet signs a payment, renders the QR and holds the phone up to the box's camera. */
  async payByQr(cust: Customer, amount: number) {
    const payment = await cust.wallet.pay({ to: this.info.box.sticker, amount })
    const png = await qrPng(payment.qrText)
    const file = join(this.o.outDir, `${cust.name.toLowerCase().replace(/\W+/g, '-')}-${payment.txId}.png`)
    await writeFile(file, png)
    const readBack = await this.scanner.decode(png)
    this.n.say(
      `${cust.name}'s phone shows a payment QR of ${this.m(amount)} (${png.length} byte PNG: ${file}).`,
    )
    this.n.check('the phone screen decodes to the signed payment', readBack === payment.qrText)
    const greenBefore = this.greens()
    const outcome = await this.box.showQr(payment.qrText)
    return { payment, outcome, green: this.greens() > greenBefore }
  }

  greens(): number {
    return this.box.gpio.history.filter((w) => w.line === 'ledOk' && w.on).length
  }

  async goOffline(): Promise<void> {
    this.stack.link.down()
    await waitUntil('the box to notice it is offline', () => !this.box.node.sync.online)
    await waitUntil('the bridge to see the box offline', async () => {
      const d = await this.op.get(`/v1/devices/${this.info.box.deviceId}`)
      return d.online === false
    })
  }

  async goOnline(): Promise<void> {
    this.stack.link.up()
    await waitUntil('the box to reconnect', () => this.box.node.sync.online, { timeoutMs: 20_000 })
    await waitUntil('the bridge to see the box online', async () => {
      const d = await this.op.get(`/v1/devices/${this.info.box.deviceId}`)
      return d.online === true
    })
  }

  async case1(): Promise<void> {
    const n = this.n
    const ana = await this.customer('Ana', '+15550001001', 5000)
    const before = await this.merchantMoney()
    const inv = await this.op.as(this.info.box.deviceKey).post('/v1/invoices', {
      reference: 'INV-1001',
      amount: 2500,
      currency: this.cur,
    })
    n.say(`The box shows invoice ${inv.reference} for ${this.m(inv.amount)} as a QR code (${inv.qr}).`)
    const confirmed = nextEvent<Confirmation>(
      'the box to hear that INV-1001 was paid',
      (fn) => this.box.node.notices.onConfirmed(fn),
      (x) => x.ref === 'INV-1001',
    )
    const paid = await ana.api.post(`/v1/invoices/${inv.id}/payments`, {
      method: 'card',
      cardToken: 'tok_visa',
      idempotencyKey: `inv-1001-${randomUUID()}`,
    })
    n.expect(`Ana pays ${this.m(paid.amount)} by card: the card payment`, paid.status, 'succeeded')
    const heard = await confirmed
    n.expect('the online box is told at once, over MQTT', heard.via, 'mqtt')
    const payout = await this.op.post('/v1/payouts', { currency: this.cur })
    const line = payout.lines.find((l: { merchantId: string }) => l.merchantId === this.info.box.merchantId)
    n.expect(
      `the payout batch pays the merchant's bank account (${line?.bankAccountRef})`,
      this.m(line?.amount ?? 0),
      this.m(2500),
    )
    const settled = await this.op.post(`/v1/payouts/${payout.id}/paid`)
    n.expect('the bank confirms the batch', settled.status, 'paid')

    const target = ana.wallet.readSticker(this.info.box.sticker)
    n.say(`Ana scans the sticker on the box: "${target.merchantName}", merchant ${target.merchantId}.`)
    const tr = await ana.api.post(`/v1/wallets/${ana.walletId}/transfers`, {
      merchantId: target.merchantId,
      amount: 1200,
      currency: this.cur,
      idempotencyKey: `transfer-${randomUUID()}`,
    })
    n.expect(`Ana transfers ${this.m(1200)} from her balance to the merchant`, tr.status, 'succeeded')
    const after = await this.merchantMoney()
    n.expect(
      "the merchant's wallet at the bridge grew by the transfer",
      this.m((after.merchant_wallet ?? 0n) - (before.merchant_wallet ?? 0n)),
      this.m(1200),
    )
    const bal = await ana.api.get(`/v1/wallets/${ana.walletId}/balance`)
    n.expect("Ana's balance after the transfer", this.m(bal.available), this.m(5000 - 1200))
  }

  async case2(): Promise<void> {
    const n = this.n
    const ben = await this.customer('Ben', '+15550001002', 4000, { amount: 3000, limit: 2000 })
    const cleoPurse = { amount: 3000, limit: 2000 }
    const ble = this.o.ble
    const cleo = ble
      ? await ble.customer({
          operator: this.op,
          name: 'Cleo',
          phone: '+15550001003',
          currency: this.cur,
          topUp: 4000,
          purse: cleoPurse,
        })
      : await this.customer('Cleo', '+15550001003', 4000, cleoPurse)
    if (ble) {
      n.say("Cleo's wallet runs in its own process with a Bluetooth LE stack (noble, on a virtual radio).")
      n.say(
        `Cleo registers, tops up ${this.m(4000)} by card and loads a purse of ${this.m(cleoPurse.amount)}.`,
      )
    }
    const before = await this.merchantMoney()
    n.say('The box loses coverage; Ben and Cleo have no signal either.')
    await this.goOffline()
    n.expect(
      'the bridge lists the box as offline',
      (await this.op.get(`/v1/devices/${this.info.box.deviceId}`)).online,
      false,
    )

    const b = await this.payByQr(ben, 750)
    n.expect(`the box accepts Ben's ${this.m(750)} offline (green LED)`, b.outcome.ok && b.green, true)
    let cleoTx = ''
    if (ble && 'pay' in cleo) {
      await ble.boxAdvertising(this.info.box.deviceId)
      const greensBefore = this.greens()
      const paid = await cleo.pay({
        sticker: this.info.box.sticker,
        deviceId: this.info.box.deviceId,
        amount: 1300,
      })
      n.check(
        `Cleo pays ${this.m(1300)} over Bluetooth LE: the box answers with a signed receipt`,
        !paid.error && paid.receipt !== undefined,
        paid.error ? JSON.stringify(paid.error) : `${paid.receipt?.length} byte receipt`,
      )
      n.expect('green LED for the BLE payment', this.greens() > greensBefore, true)
      cleoTx = paid.txId ?? 'none'
    } else {
      n.say(`Bluetooth LE is not available here (${this.o.bleMissing ?? 'not set up'}): Cleo pays by QR too.`)
      const c2 = await this.payByQr(cleo as Customer, 1300)
      n.expect(`the box accepts Cleo's ${this.m(1300)} offline (green LED)`, c2.outcome.ok && c2.green, true)
      cleoTx = c2.payment.txId
    }
    const r = this.box.node.report()
    n.expect('payments kept encrypted on the box, waiting to sync', r.pendingCount, 2)

    n.say('Coverage returns: the box reconnects and syncs.')
    await this.goOnline()
    const synced = await this.box.node.syncNow(20_000)
    n.expect('nothing left to sync on the box', synced.pendingCount, 0)
    const pb = await this.op.get(`/v1/payments/${b.payment.txId}`)
    n.expect(`Ben's payment at the bridge (held until ${pb.holdUntil})`, pb.status, 'held')
    n.expect("Cleo's payment at the bridge", await this.status(cleoTx), 'held')
    const mid = await this.merchantMoney()
    n.expect(
      'held money is in the merchant_held account',
      this.m((mid.merchant_held ?? 0n) - (before.merchant_held ?? 0n)),
      this.m(2050),
    )

    n.say('Ben gets signal and his wallet syncs its signed log.')
    const up = await ben.sync()
    n.expect("Ben's upload", up.results[0]?.outcome, 'accepted')
    n.expect("Ben's payment once the payer synced", await this.status(b.payment.txId), 'confirmed')

    n.say(
      `Cleo's phone stays offline. The hold period (${this.o.holdSeconds} s in this demo, 72 h normally) passes…`,
    )
    const approved = await waitUntil(
      "Cleo's payment to be auto-approved",
      async () => {
        await this.stack.bridge.reconciler.sweepOnce()
        const st = await this.status(cleoTx)
        return st === 'auto_approved' ? st : undefined
      },
      { timeoutMs: (this.o.holdSeconds + 20) * 1000, intervalMs: 500 },
    )
    n.expect("Cleo's payment after the hold", approved, 'auto_approved')
    const sms = await waitUntil(
      'the SMS to Cleo',
      async () => {
        const list = await this.op.get('/v1/sandbox/sms?limit=50')
        return list.messages.find((x: { to: string }) => x.to === cleo.phone)
      },
      { timeoutMs: 15_000, intervalMs: 300 },
    )
    n.say(`SMS to ${sms.to}: "${sms.body}"`)
    n.check('Cleo is told by SMS and how to claim', /approved/i.test(sms.body) && /claim/i.test(sms.body))
    const after = await this.merchantMoney()
    n.expect(
      "the merchant's wallet got both offline payments",
      this.m((after.merchant_wallet ?? 0n) - (before.merchant_wallet ?? 0n)),
      this.m(2050),
    )
    this.cleo = { api: cleo.api, walletId: cleo.walletId, txId: cleoTx, amount: 1300 }
  }

  cleo: { api: Api; walletId: string; txId: string; amount: number } | undefined

  async case3(): Promise<void> {
    const n = this.n
    const dan = await this.customer('Dan', '+15550001004', 3000)
    const inv = await this.op.as(this.info.box.merchantKey).post('/v1/invoices', {
      reference: 'INV-1002',
      amount: 1800,
      currency: this.cur,
      deviceId: this.info.box.deviceId,
    })
    n.say(`The merchant bills ${this.m(1800)} as invoice ${inv.reference}; then the box loses data coverage.`)
    await this.goOffline()
    const greensBefore = this.greens()
    const heard = nextEvent<Confirmation>(
      'the box to hear that INV-1002 was paid',
      (fn) => this.box.node.notices.onConfirmed(fn),
      (x) => x.ref === 'INV-1002',
      20_000,
    )
    const paid = await dan.api.post(`/v1/invoices/${inv.id}/payments`, {
      method: 'card',
      cardToken: 'tok_visa',
      idempotencyKey: `inv-1002-${randomUUID()}`,
    })
    n.expect(`Dan pays ${this.m(1800)} online by card`, paid.status, 'succeeded')
    const conf = await heard
    const sms = (await this.op.get('/v1/sandbox/sms?limit=50')).messages.find(
      (x: { to: string }) => x.to === this.info.box.modemNumber,
    )
    n.say(`SMS to the box's modem ${this.info.box.modemNumber}: "${sms?.body}"`)
    n.expect('the box verifies the authenticated SMS', conf.via, 'sms')
    n.expect('amount the box confirms', this.m(conf.amount), this.m(1800))
    n.check('the box signals the merchant (green LED)', this.greens() > greensBefore)
    n.say('Coverage returns.')
    await this.goOnline()
  }

  async case4(): Promise<void> {
    const n = this.n
    const eve = await this.customer('Eve', '+15550001005', 3000, { amount: 2000, limit: 1000 })
    n.say('The box is online; Eve has no signal.')
    const p = await this.payByQr(eve, 450)
    n.expect(`the box accepts Eve's ${this.m(450)} (green LED)`, p.outcome.ok && p.green, true)
    const synced = await this.box.node.syncNow(20_000)
    n.expect('the box syncs at once', synced.pendingCount, 0)
    n.expect("Eve's payment at the bridge", await this.status(p.payment.txId), 'held')
    n.say('Later Eve has signal and her wallet syncs.')
    await eve.sync()
    n.expect("Eve's payment once the payer synced", await this.status(p.payment.txId), 'confirmed')
  }

  async case5(): Promise<void> {
    const n = this.n
    const cleo = this.cleo
    if (cleo) {
      n.say(
        `Cleo sees the SMS and says she never paid ${this.m(cleo.amount)}: she files a claim in her wallet app.`,
      )
      const before = (await cleo.api.get(`/v1/wallets/${cleo.walletId}/balance`)).available
      const cl = await cleo.api.post(`/v1/wallets/${cleo.walletId}/claims`, {
        txId: cleo.txId,
        reason: 'I did not make this payment',
      })
      n.expect('the claim is open', cl.status, 'open')
      n.expect('the payment is disputed', await this.status(cleo.txId), 'claimed')
      const res = await this.op.post(`/v1/claims/${cl.id}/resolve`, { decision: 'reverse', note: 'demo' })
      n.expect('the operator reverses it', res.status, 'reversed')
      n.expect('the payment', await this.status(cleo.txId), 'reversed')
      const after = (await cleo.api.get(`/v1/wallets/${cleo.walletId}/balance`)).available
      n.expect("Cleo's balance got the money back", this.m(after - before), this.m(cleo.amount))
    } else n.check('a payment to claim (from case 2)', false)

    const fay = await this.customer('Fay', '+15550001006', 3000, { amount: 2000, limit: 1000 })
    const clone = await fay.clone('Fay-clone')
    n.say("Someone copies Fay's phone storage: two wallets now hold the same purse.")
    const first = await this.payByQr(fay, 600)
    n.expect(`the box accepts Fay's ${this.m(600)}`, first.outcome.ok, true)
    await this.box.node.syncNow(20_000)
    const second = await this.payByQr(clone, 600)
    n.expect(
      'the box refuses the clone: same wallet counter (red LED)',
      second.outcome.ok ? 'accepted' : second.outcome.code,
      'replay',
    )
    n.say('The clone then uploads its token to the bridge directly.')
    const up = await clone.sync()
    n.say(`bridge answer: ${up.results.map((r) => `${r.outcome}/${r.status ?? r.code}`).join(', ')}`)
    n.expect('the copied token', await this.status(second.payment.txId), 'double_spend')
    n.expect("Fay's first payment stays honoured", await this.status(first.payment.txId), 'held')
    const w = await this.op.get(`/v1/wallets/${fay.walletId}`)
    n.expect('the wallet is frozen', w.frozen, true)
    const proof = await readDoubleSpendProof(this.stack, second.payment.txId)
    n.expect('proof kept: both tokens at one counter', proof?.kind, 'same_counter')
    if (proof) {
      n.check(
        'the proof: two different tokens, same wallet and counter, both signed by the wallet',
        proof.valid,
        `counter ${proof.counter}, tx …${proof.honoured.slice(-12)} and …${proof.refused.slice(-12)}`,
      )
    }
  }
}
