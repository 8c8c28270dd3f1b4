import { randomBytes } from 'node:crypto'
import { CommandSchema, deriveKey, id8ToBytes, openMqtt, parsePaidSms, topic } from '@opg/protocol'
import { nodeBackend as c } from '@opg/protocol/node'
import t from 'tap'
import { sqlState } from '../../src/db/errors.js'
import { newId } from '../../src/db/ids.js'
import type { Db } from '../../src/db/types.js'
import { deviceSecretAad } from '../../src/fleet/devices.js'
import { MasterKey } from '../../src/issuer/master-key.js'
import { accounts, balance, checkInvariants } from '../../src/ledger/index.js'
import {
  type BoxLink,
  buildPayout,
  markPayoutPaid,
  OnlinePayments,
  SandboxProvider,
  signWebhook,
} from '../../src/online/index.js'
import { listOutbox } from '../../src/sms/outbox.js'
import { forEachDatabase, seedTenant } from '../support/databases.js'

const WEBHOOK_SECRET = 'whsec_test'

async function setup(db: Db, opts: { link?: BoxLink | null; confirmDelayMs?: number } = {}) {
  const tenantId = await seedTenant(db, { currency: 'INR' })
  const sealer = new MasterKey(c, randomBytes(16))
  const merchantId = newId()
  await db.query(
    'INSERT INTO merchants (tenant_id, id, name, phone, bank_account_ref) VALUES ($1, $2, $3, $4, $5)',
    [tenantId, merchantId, 'Asha Tea Stall', '+15550000001', 'acct_asha'],
  )
  const deviceId = newId()
  const deviceSecret = randomBytes(16)
  await db.query(
    'INSERT INTO devices (tenant_id, id, merchant_id, sealed_secret, modem_number) VALUES ($1, $2, $3, $4, $5)',
    [
      tenantId,
      deviceId,
      merchantId,
      sealer.seal(deviceSecret, deviceSecretAad(tenantId, deviceId)),
      '+15550000099',
    ],
  )
  const walletId = newId()
  await db.query(
    'INSERT INTO wallets (tenant_id, id, public_key, phone, currency) VALUES ($1, $2, $3, $4, $5)',
    [tenantId, walletId, randomBytes(32), '+15550000002', 'INR'],
  )
  let svc: OnlinePayments | undefined
  const provider = new SandboxProvider({
    webhookSecret: WEBHOOK_SECRET,
    deliver: async (body, sig) => svc!.handleWebhook(body, sig),
    onError: (err) => t.error(err, 'webhook delivery'),
    ...(opts.confirmDelayMs ? { confirmDelayMs: opts.confirmDelayMs } : {}),
  })
  t.teardown(() => provider.stop())
  svc = new OnlinePayments({
    db,
    provider,
    c,
    sealer,
    link: opts.link ?? null,
    webhookSecret: WEBHOOK_SECRET,
    now: () => new Date(),
  })
  const bal = {
    payable: () => balance(db, accounts.merchantBankPayable(tenantId, merchantId, 'INR')),
    merchantWallet: () => balance(db, accounts.merchantWallet(tenantId, merchantId, 'INR')),
    wallet: () => balance(db, accounts.walletAvailable(tenantId, walletId, 'INR')),
    clearing: () => balance(db, accounts.cardClearing(tenantId, 'INR')),
  }
  const invoice = (reference: string, amount = 25000n, withDevice = false) =>
    svc!.createInvoice(tenantId, {
      merchantId,
      deviceId: withDevice ? deviceId : null,
      reference,
      amount,
      currency: 'INR',
      expiresInSeconds: 900,
    })
  return { tenantId, merchantId, deviceId, deviceSecret, walletId, svc, provider, bal, invoice }
}

t.test('online payments', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    t.test('a credit-card invoice settles to the merchant bank payable after the webhook', async (t) => {
      const s = await setup(db)
      const inv = await s.invoice('INV-1')
      const p = await s.svc.payInvoice(s.tenantId, inv.id, {
        method: 'card',
        cardToken: 'tok_visa',
        idempotencyKey: 'key-inv-1-a',
      })
      const done = await s.svc.waitSettled(s.tenantId, p.id)
      t.equal(done.status, 'succeeded')
      t.equal(done.method, 'card')
      t.equal(await s.bal.payable(), 25000n)
      t.equal(await s.bal.clearing(), -25000n)
      t.equal((await s.svc.getInvoice(s.tenantId, inv.id)).status, 'paid')
      t.same(await checkInvariants(db, s.tenantId), [])
    })

    t.test('a debit card is recorded as debit; double submission charges once', async (t) => {
      const s = await setup(db)
      const inv = await s.invoice('INV-2')
      const req = { method: 'card' as const, cardToken: 'tok_visa_debit', idempotencyKey: 'key-inv-2-a' }
      const [a, b] = await Promise.all([
        s.svc.payInvoice(s.tenantId, inv.id, req),
        s.svc.payInvoice(s.tenantId, inv.id, req).catch((e) => e),
      ])
      const p = await s.svc.waitSettled(s.tenantId, a.id)
      t.equal(p.method, 'debit')
      if (!(b instanceof Error)) t.equal(b.id, a.id, 'the second submission is the same payment')
      const again = await s.svc.payInvoice(s.tenantId, inv.id, req)
      t.equal(again.id, a.id)
      t.equal(s.provider.sent.length, 1, 'one charge at the provider')
      t.equal(await s.bal.payable(), 25000n)
    })

    t.test('declined, insufficient and expired cards leave no trace in balances', async (t) => {
      const s = await setup(db)
      const inv = await s.invoice('INV-3')
      for (const [i, tok] of ['tok_card_declined', 'tok_insufficient_funds', 'tok_expired_card'].entries()) {
        const p = await s.svc.payInvoice(s.tenantId, inv.id, {
          method: 'card',
          cardToken: tok,
          idempotencyKey: `key-inv-3-${i}`,
        })
        const done = await s.svc.waitSettled(s.tenantId, p.id)
        t.equal(done.status, 'failed', tok)
      }
      t.equal(await s.bal.payable(), 0n)
      t.equal(await s.bal.clearing(), 0n)
      t.equal((await s.svc.getInvoice(s.tenantId, inv.id)).status, 'open', 'still payable')
      const ok = await s.svc.payInvoice(s.tenantId, inv.id, {
        method: 'card',
        cardToken: 'tok_visa',
        idempotencyKey: 'key-inv-3-ok',
      })
      t.equal((await s.svc.waitSettled(s.tenantId, ok.id)).status, 'succeeded')
    })

    t.test(
      'a reused key with another request is a conflict; a paid invoice cannot be paid again',
      async (t) => {
        const s = await setup(db)
        const inv = await s.invoice('INV-4')
        const p = await s.svc.payInvoice(s.tenantId, inv.id, {
          method: 'card',
          cardToken: 'tok_visa',
          idempotencyKey: 'key-inv-4-a',
        })
        await s.svc.waitSettled(s.tenantId, p.id)
        await t.rejects(
          s.svc.payInvoice(s.tenantId, inv.id, {
            method: 'card',
            cardToken: 'tok_visa_debit',
            idempotencyKey: 'key-inv-4-a',
          }),
          { code: 'idempotency_conflict' },
        )
        await t.rejects(
          s.svc.payInvoice(s.tenantId, inv.id, {
            method: 'card',
            cardToken: 'tok_visa',
            idempotencyKey: 'key-inv-4-b',
          }),
          { code: 'invoice_paid' },
        )
      },
    )

    t.test('a duplicate webhook and a forged one change nothing', async (t) => {
      const s = await setup(db)
      const inv = await s.invoice('INV-5')
      const p = await s.svc.payInvoice(s.tenantId, inv.id, {
        method: 'card',
        cardToken: 'tok_visa',
        idempotencyKey: 'key-inv-5-a',
      })
      await s.svc.waitSettled(s.tenantId, p.id)
      await s.provider.send(s.provider.sent[0]!)
      t.equal(await s.bal.payable(), 25000n, 'redelivered webhook credits once')
      const forged = JSON.stringify({ ...s.provider.sent[0], id: 'evt_forged' })
      await t.rejects(s.svc.handleWebhook(forged, 't=1,v1=00'), { code: 'bad_signature' })
      // Signed by the provider but malformed, or too old: typed refusals, nothing moves.
      const now = Math.floor(Date.now() / 1000)
      const signed = (body: string, at = now) =>
        s.svc.handleWebhook(body, signWebhook(WEBHOOK_SECRET, body, at))
      await t.rejects(signed('{not json'), { code: 'bad_event' })
      await t.rejects(signed(JSON.stringify({ id: 'evt_1', type: 'charge.refunded' })), { code: 'bad_event' })
      const ev = { ...s.provider.sent[0]!, id: 'evt_2' }
      await t.rejects(signed(JSON.stringify({ ...ev, reference: 'no-colon' })), { code: 'bad_event' })
      await t.rejects(signed(JSON.stringify(ev), now - 3600), { code: 'stale_event' })
      t.equal(await s.bal.payable(), 25000n, 'still credited once')
    })

    t.test('a webhook names its tenant; an unknown or mismatched one is a typed refusal', async (t) => {
      // The sandbox's own confirmation is held back for the test's duration: the test sends the events.
      const s = await setup(db, { confirmDelayMs: 3_600_000 })
      const other = await setup(db)
      const signed = (ev: object) => {
        const body = JSON.stringify(ev)
        return s.svc.handleWebhook(body, signWebhook(WEBHOOK_SECRET, body, Math.floor(Date.now() / 1000)))
      }
      const inv = await s.invoice('INV-T1')
      const p = await s.svc.payInvoice(s.tenantId, inv.id, {
        method: 'card',
        cardToken: 'tok_visa',
        idempotencyKey: 'key-inv-t1-a',
      })
      t.equal(p.status, 'pending', 'the confirmation is held back')
      t.equal(s.provider.sent.length, 0, 'no webhook was sent yet')
      const { rows } = await db.query<{ provider_ref: string }>(
        'SELECT provider_ref FROM online_payments WHERE tenant_id = $1 AND id = $2',
        [s.tenantId, p.id],
      )
      const good = {
        id: 'evt_t1',
        type: 'charge.succeeded',
        providerRef: rows[0]!.provider_ref,
        reference: `${s.tenantId}:${p.id}`,
        funding: 'credit',
      }
      await t.rejects(signed({ ...good, reference: `${'f'.repeat(16)}:${p.id}` }), { code: 'unknown_tenant' })
      await t.rejects(signed({ ...good, reference: `${other.tenantId}:${p.id}` }), {
        code: 'unknown_payment',
      })
      await t.rejects(signed({ ...good, providerRef: 'ch_someone_else' }), { code: 'charge_mismatch' })
      t.equal(await s.bal.payable(), 0n, 'no refusal moved money')
      await signed(good)
      t.equal(await s.bal.payable(), 25000n, 'the event naming its tenant and charge settles it')

      // Two tenants may hold the same provider reference (each its own provider account): the key is per tenant.
      await db.query('UPDATE online_payments SET provider_ref = $3 WHERE tenant_id = $1 AND id = $2', [
        s.tenantId,
        p.id,
        'ch_shared',
      ])
      const inv2 = await other.invoice('INV-T2')
      const p2 = await other.svc.payInvoice(other.tenantId, inv2.id, {
        method: 'card',
        cardToken: 'tok_visa',
        idempotencyKey: 'key-inv-t2-a',
      })
      await other.svc.waitSettled(other.tenantId, p2.id)
      await db.query('UPDATE online_payments SET provider_ref = $3 WHERE tenant_id = $1 AND id = $2', [
        other.tenantId,
        p2.id,
        'ch_shared',
      ])
      const dup = await db
        .query(
          `INSERT INTO online_payments (tenant_id, id, idempotency_key, request_hash, kind, method, amount,
             currency, provider_ref, status, test_mode)
           VALUES ($1, $2, 'key-dup-ref', 'h', 'topup', 'card', 1, 'INR', 'ch_shared', 'pending', true)`,
          [s.tenantId, '00000000000000aa'],
        )
        .then(
          () => null,
          (err: unknown) => err,
        )
      t.equal(sqlState(dup), '23505', 'within one tenant a provider reference is still unique')
      t.same(await checkInvariants(db, s.tenantId), [], 'the ledger balances')
    })

    t.test('a provider outage loses nothing; the retry with the same key succeeds', async (t) => {
      const s = await setup(db)
      const inv = await s.invoice('INV-6')
      s.provider.setOutage(true)
      const req = { method: 'card' as const, cardToken: 'tok_visa', idempotencyKey: 'key-inv-6-a' }
      await t.rejects(s.svc.payInvoice(s.tenantId, inv.id, req), { code: 'provider_unavailable' })
      t.equal(await s.bal.payable(), 0n)
      s.provider.setOutage(false)
      const p = await s.svc.payInvoice(s.tenantId, inv.id, req)
      t.equal((await s.svc.waitSettled(s.tenantId, p.id)).status, 'succeeded')
      t.equal(await s.bal.payable(), 25000n)
    })

    t.test('top-up by card, then an invoice and a QR transfer from the wallet balance', async (t) => {
      const s = await setup(db)
      const top = await s.svc.topUp(s.tenantId, s.walletId, {
        amount: 50000n,
        currency: 'INR',
        cardToken: 'tok_visa',
        idempotencyKey: 'key-top-1',
      })
      await s.svc.waitSettled(s.tenantId, top.id)
      t.equal(await s.bal.wallet(), 50000n)
      const inv = await s.invoice('INV-7', 30000n)
      const p = await s.svc.payInvoice(s.tenantId, inv.id, {
        method: 'wallet',
        walletId: s.walletId,
        idempotencyKey: 'key-inv-7-a',
      })
      t.equal(p.status, 'succeeded')
      t.equal(await s.bal.wallet(), 20000n)
      t.equal(await s.bal.payable(), 30000n, 'invoice money is due to the bank')
      const tr = await s.svc.transfer(s.tenantId, s.walletId, {
        merchantId: s.merchantId,
        amount: 15000n,
        currency: 'INR',
        idempotencyKey: 'key-tr-1',
      })
      t.equal(tr.status, 'succeeded')
      t.equal(await s.bal.merchantWallet(), 15000n, 'QR transfer lands in the merchant wallet')
      await t.rejects(
        s.svc.transfer(s.tenantId, s.walletId, {
          merchantId: s.merchantId,
          amount: 15000n,
          currency: 'INR',
          idempotencyKey: 'key-tr-2',
        }),
        { code: 'insufficient_funds' },
      )
      t.equal(await s.bal.wallet(), 5000n, 'the refused transfer moved nothing')
      t.same(await checkInvariants(db, s.tenantId), [])
    })

    t.test('payout batches: one line per merchant with its payments; paid once', async (t) => {
      const s = await setup(db)
      const ids: string[] = []
      for (const ref of ['INV-8', 'INV-9']) {
        const inv = await s.invoice(ref, 10000n)
        const p = await s.svc.payInvoice(s.tenantId, inv.id, {
          method: 'card',
          cardToken: 'tok_visa',
          idempotencyKey: `key-${ref}`,
        })
        ids.push((await s.svc.waitSettled(s.tenantId, p.id)).id)
      }
      const marks = await db.query<{ test_mode: boolean }>(
        'SELECT test_mode FROM online_payments WHERE tenant_id = $1 AND id = ANY($2)',
        [s.tenantId, ids],
      )
      t.same(
        marks.rows.map((r) => r.test_mode),
        [true, true],
        'sandbox payments are marked test',
      )
      t.equal(
        await buildPayout(db, s.tenantId, 'INR', { testMode: false }),
        null,
        'test money never enters a live payout batch',
      )
      const batch = await buildPayout(db, s.tenantId, 'INR', { testMode: true })
      t.ok(batch)
      t.equal(batch!.testMode, true, 'the batch says it is test money')
      t.equal(batch!.lines.length, 1)
      t.equal(batch!.lines[0]!.amount, 20000n)
      t.equal(batch!.lines[0]!.bankAccountRef, 'acct_asha')
      t.same(batch!.lines[0]!.paymentIds, [...ids].sort())
      t.equal(await buildPayout(db, s.tenantId, 'INR', { testMode: true }), null, 'nothing left to batch')
      await markPayoutPaid(db, s.tenantId, batch!.id, new Date())
      await markPayoutPaid(db, s.tenantId, batch!.id, new Date())
      t.equal(await s.bal.payable(), 0n, 'paid out exactly once')
      t.same(await checkInvariants(db, s.tenantId), [])
    })

    t.test('an offline box gets an authenticated OPG1 PAID SMS; the merchant a readable one', async (t) => {
      const s = await setup(db)
      for (const ref of ['INV-10', 'INV-11']) {
        const inv = await s.invoice(ref, 25000n, true)
        const p = await s.svc.payInvoice(s.tenantId, inv.id, {
          method: 'card',
          cardToken: 'tok_visa',
          idempotencyKey: `key-${ref}`,
        })
        await s.svc.waitSettled(s.tenantId, p.id)
      }
      const out = await listOutbox(db, s.tenantId)
      const toBox = out
        .filter((m) => m.to === '+15550000099')
        .map((m) => m.body ?? (m as unknown as { text: string }).text)
      t.equal(toBox.length, 2)
      const smsKey = deriveKey(c, s.deviceSecret, 'sms', id8ToBytes(s.deviceId))
      const parsed = toBox
        .map((text) => parsePaidSms(c, smsKey, s.deviceId, text))
        .sort((a, b) => a.counter - b.counter)
      t.same(
        parsed.map((m) => [m.ref, m.amount, m.counter]),
        [
          ['INV-10', 25000, 1],
          ['INV-11', 25000, 2],
        ],
      )
      t.ok(
        out.some((m) => m.to === '+15550000001'),
        'the merchant phone got a message',
      )
    })

    t.test('a connected box gets the notice over MQTT down/cmd instead', async (t) => {
      const published: Array<{ topic: string; payload: Uint8Array }> = []
      const s = await setup(db, {
        link: {
          isOnline: async () => true,
          publish: async (tp, payload) => void published.push({ topic: tp, payload }),
        },
      })
      const inv = await s.invoice('INV-12', 9900n, true)
      const p = await s.svc.payInvoice(s.tenantId, inv.id, {
        method: 'card',
        cardToken: 'tok_visa',
        idempotencyKey: 'key-inv-12',
      })
      await s.svc.waitSettled(s.tenantId, p.id)
      t.equal(published.length, 1)
      const tp = topic(s.tenantId, s.deviceId, 'down/cmd')
      t.equal(published[0]!.topic, tp)
      const key = deriveKey(c, s.deviceSecret, 'mqtt', id8ToBytes(s.deviceId))
      const cmd = openMqtt(c, key, tp, CommandSchema, published[0]!.payload)
      t.match(cmd, { type: 'invoice_paid', ref: 'INV-12', amount: 9900, currency: 'INR', counter: 1 })
      const out = await listOutbox(db, s.tenantId)
      t.notOk(
        out.some((m) => m.to === '+15550000099'),
        'no SMS to the box',
      )
    })
  })
})
