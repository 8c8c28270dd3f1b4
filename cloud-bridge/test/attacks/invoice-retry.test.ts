// Attack: retrying an online payment after a provider outage to pay an invoice that expired, or that was paid
// meanwhile by other means. The retry runs the same invoice checks as the first try: a typed refusal, no charge,
// no 500 from a unique index, and the ledger balances.
import { randomBytes } from 'node:crypto'
import { nodeBackend as c } from '@opg/protocol/node'
import t, { type Test } from 'tap'
import { newId } from '../../src/db/ids.js'
import type { Db } from '../../src/db/types.js'
import { MasterKey } from '../../src/issuer/master-key.js'
import { accounts, balance, checkInvariants, transfer } from '../../src/ledger/index.js'
import { OnlinePayments, SandboxProvider } from '../../src/online/index.js'
import { forEachDatabase, seedTenant } from '../support/databases.js'

t.setTimeout(300_000)

async function shop(db: Db, t: Test) {
  const tenantId = await seedTenant(db, { currency: 'EUR' })
  const merchantId = newId()
  await db.query('INSERT INTO merchants (tenant_id, id, name) VALUES ($1, $2, $3)', [
    tenantId,
    merchantId,
    'Shop',
  ])
  const walletId = newId()
  await db.query(
    'INSERT INTO wallets (tenant_id, id, public_key, phone, currency) VALUES ($1, $2, $3, $4, $5)',
    [tenantId, walletId, randomBytes(32), '+15550000002', 'EUR'],
  )
  await db.transaction((tx) =>
    transfer(tx, {
      ref: `seed:${walletId}`,
      tenantId,
      from: accounts.suspense(tenantId, 'EUR'),
      to: accounts.walletAvailable(tenantId, walletId, 'EUR'),
      amount: 10_000n,
    }),
  )
  let offsetMs = 0
  let svc: OnlinePayments | undefined
  const provider = new SandboxProvider({
    webhookSecret: 'whsec_attack',
    deliver: async (body, sig) => svc!.handleWebhook(body, sig),
    onError: (err) => t.error(err, 'webhook delivery'),
  })
  t.teardown(() => provider.stop())
  svc = new OnlinePayments({
    db,
    provider,
    c,
    sealer: new MasterKey(c, randomBytes(16)),
    link: null,
    webhookSecret: 'whsec_attack',
    now: () => new Date(Date.now() + offsetMs),
  })
  const invoice = () =>
    svc!.createInvoice(tenantId, {
      merchantId,
      reference: 'INV-1',
      amount: 2500n,
      currency: 'EUR',
      expiresInSeconds: 900,
    })
  const payable = () => balance(db, accounts.merchantBankPayable(tenantId, merchantId, 'EUR'))
  return { tenantId, walletId, svc, provider, invoice, payable, later: (ms: number) => (offsetMs += ms) }
}

t.test('retry of an expired invoice after a provider outage', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    const s = await shop(db, t)
    const inv = await s.invoice()
    s.provider.setOutage(true)
    const req = { method: 'card' as const, cardToken: 'tok_visa', idempotencyKey: 'retry-expired' }
    await t.rejects(s.svc.payInvoice(s.tenantId, inv.id, req), { code: 'provider_unavailable' })
    s.provider.setOutage(false)
    s.later(901_000)
    await t.rejects(s.svc.payInvoice(s.tenantId, inv.id, req), { code: 'invoice_expired' }, 'typed refusal')
    const p = await db.query<{ status: string }>('SELECT status FROM online_payments WHERE tenant_id = $1', [
      s.tenantId,
    ])
    t.same(p.rows, [{ status: 'failed' }], 'nothing charged')
    t.equal(await s.payable(), 0n)
    t.same(await checkInvariants(db, s.tenantId), [])
  })
})

t.test('retry of an invoice paid meanwhile from the wallet', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    const s = await shop(db, t)
    const inv = await s.invoice()
    s.provider.setOutage(true)
    const card = { method: 'card' as const, cardToken: 'tok_visa', idempotencyKey: 'retry-paid' }
    await t.rejects(s.svc.payInvoice(s.tenantId, inv.id, card), { code: 'provider_unavailable' })
    s.provider.setOutage(false)
    await s.svc.payInvoice(s.tenantId, inv.id, {
      method: 'wallet',
      walletId: s.walletId,
      idempotencyKey: 'wallet-pays-it-meanwhile',
    })
    await t.rejects(s.svc.payInvoice(s.tenantId, inv.id, card), { code: 'invoice_paid' })
    t.equal(await s.payable(), 2500n, 'paid once')
    t.same(await checkInvariants(db, s.tenantId), [])
  })
})
