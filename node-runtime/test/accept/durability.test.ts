/**
 * Serialisation and "durable before confirmed": concurrent presentations cannot double-accept, the merchant
 * is signalled only after the vault's append resolved, and a failed write is reported and leaves no trace.
 */
import t from 'tap'
import { c, qrFor, TestWallet } from './fixtures.js'
import { makeGatedRig as makeRig } from './setup.js'

t.test('the same token presented twice at once is accepted exactly once', async (t) => {
  const rig = makeRig()
  const w = new TestWallet(rig.world)
  const token = w.token(800)
  let open!: () => void
  rig.vault.gate = new Promise((r) => {
    open = r
  })
  const both = Promise.all([
    rig.acceptor.accept({ qrText: qrFor(rig.world, token) }),
    rig.acceptor.accept({ qrText: qrFor(rig.world, token) }),
  ])
  setImmediate(open)
  const outs = await both
  t.equal(outs.filter((o) => o.ok).length, 1)
  t.match(
    outs.find((o) => !o.ok),
    { code: 'replay' },
  )
  t.equal(rig.vault.stats().records, 1)
})

t.test('two tokens racing for the last of a purse: one wins', async (t) => {
  const rig = makeRig()
  const w = new TestWallet(rig.world, { perPaymentLimit: 5_000, purseAmount: 5_000 })
  const a = w.token(3_000)
  const b = w.token(3_000)
  let open!: () => void
  rig.vault.gate = new Promise((r) => {
    open = r
  })
  const both = Promise.all([
    rig.acceptor.accept({ qrText: qrFor(rig.world, a) }),
    rig.acceptor.accept({ qrText: qrFor(rig.world, b) }),
  ])
  setImmediate(open)
  const outs = await both
  t.same(outs.map((o) => (o.ok ? 'ok' : o.code)).sort(), ['ok', 'over_purse'])
})

t.test('many wallets paying concurrently all succeed (acceptance is not globally blocked)', async (t) => {
  const rig = makeRig()
  const wallets = Array.from({ length: 20 }, () => new TestWallet(rig.world))
  const outs = await Promise.all(
    wallets.map((w) => rig.acceptor.accept({ qrText: qrFor(rig.world, w.token(100)) })),
  )
  t.equal(outs.filter((o) => o.ok).length, 20)
  t.equal(rig.vault.stats().unsyncedCount, 20)
})

t.test('the merchant is signalled only once the payment is durable', async (t) => {
  const rig = makeRig()
  const w = new TestWallet(rig.world)
  let open!: () => void
  rig.vault.gate = new Promise((r) => {
    open = r
  })
  let settled = false
  const pending = rig.acceptor.accept({ qrText: qrFor(rig.world, w.token(100)) }).finally(() => {
    settled = true
  })
  await new Promise((r) => setTimeout(r, 20))
  t.equal(settled, false, 'no outcome while the write is pending')
  t.same(rig.signals, [], 'no green LED while the write is pending')
  open()
  const out = await pending
  t.ok(out.ok)
  t.same(rig.signals, [{ kind: 'accepted', detail: out.ok ? out.receipt.txId : '', durable: 1 }])
})

t.test('a failed write is reported, signalled as a rejection and can be retried', async (t) => {
  const rig = makeRig()
  const w = new TestWallet(rig.world)
  const token = w.token(100)
  rig.vault.failWrites = true
  t.match(await rig.acceptor.accept({ qrText: qrFor(rig.world, token) }), {
    ok: false,
    code: 'storage_failed',
  })
  t.equal(rig.vault.stats().records, 0)
  t.same(
    rig.signals.map((s) => s.detail),
    ['storage_failed'],
  )
  t.equal(rig.view.walletDaySpent(w.cert.walletId, Math.floor(rig.clock.ms / 86_400_000)), 0, 'cap released')
  rig.vault.failWrites = false
  t.ok(
    (await rig.acceptor.accept({ qrText: qrFor(rig.world, token) })).ok,
    'the same token goes through later',
  )
})

t.test('a broken buzzer does not turn a stored payment into a failure', async (t) => {
  const rig = makeRig()
  const { Acceptor } = await import('../../src/accept/acceptor.js')
  const { protocolVerifier } = await import('../../src/accept/protocol-verifier.js')
  const { MERCHANT } = await import('./fixtures.js')
  const acceptor = new Acceptor({
    verifier: protocolVerifier({
      c,
      issuerKeys: rig.world.issuerKeys,
      merchantId: MERCHANT,
      deviceId: rig.world.deviceId,
      encryption: rig.world.nodeEncryption,
      signingSecret: rig.world.nodeSigning.secretKey,
    }),
    vault: rig.vault,
    view: rig.view,
    clock: rig.clock,
    policy: { maxUnsyncedTotal: 10_000, maxPerWalletPerDay: 10_000, currency: 'EUR' },
    signal: {
      accepted: () => {
        throw new Error('GPIO busy')
      },
      rejected: () => {},
    },
  })
  const w = new TestWallet(rig.world)
  t.ok((await acceptor.accept({ qrText: qrFor(rig.world, w.token(100)) })).ok)
})
