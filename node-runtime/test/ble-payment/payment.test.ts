/**
 * BLE payments end to end: the wallet core over the real noble, the box's acceptance and journal behind the
 * real bleno, each in its own process on the virtual radio (children: ./box-peer.ts and
 * wallet-sdk/test/ble-payment.test.ts). What a customer and a merchant would notice: the receipt verifies with
 * the box's key, the box's journal holds the payment (durable before the receipt left), a dropped link never
 * leaves a payment half-taken or taken twice, and rubbish on the air gets typed errors while the box keeps
 * serving. The fake-box case (no node key) is in wallet-sdk/test/ble-payment.test.ts.
 */
import * as P from '@opg/protocol'
import { nodeBackend as c } from '@opg/protocol/node'
import t, { type Test } from 'tap'
import { FileVault } from '../../src/vault/index.js'
import { type PaymentRig, type PayResult, startRig } from './rig.js'

const chunks = (size: number, mtu: number) => Math.ceil(size / (mtu - 4))
/** Sealed message sizes (SPEC §10): BoxHello 270, sealed token 1+1+265+16, sealed receipt 1+1+110+16. */
const BOX_HELLO = 1 + 32 + 8 + P.NODE_CERT_LEN + 64
const SEALED_TOKEN = 1 + 1 + P.TOKEN_LEN_CHALLENGE + 16
const SEALED_RECEIPT = 1 + 1 + P.RECEIPT_LEN + 16

async function rig(t: Test, ...args: Parameters<typeof startRig>): Promise<PaymentRig> {
  const r = await startRig(...args)
  t.teardown(() => r.close())
  return r
}

/** Kill the box (power cut) and read its journal back. */
async function journalAfterPowerCut(r: PaymentRig) {
  await r.box.kill()
  const vault = await FileVault.open({ dir: r.vaultDir, key: r.vaultKey })
  const payments = [...vault.payments()]
  const records = await Promise.all(payments.map((p) => vault.get(p.txId)))
  await vault.close()
  return records.filter((x) => x !== undefined)
}

/** The receipt verifies with the box's node key and acknowledges exactly the stored token. */
function checkReceipt(t: Test, r: PaymentRig, receiptBytes: Uint8Array | undefined, token: Uint8Array) {
  t.ok(receiptBytes, 'the wallet holds a receipt')
  const receipt = P.decodeReceipt(receiptBytes!)
  t.doesNotThrow(
    () => P.verifyReceipt(c, receipt, r.nodeKey, P.decodeToken(token)),
    'it verifies with the box key',
  )
}

/** Index of the first event of `p` matching. */
const indexOf = (r: PaymentRig, event: string, pred: (d: Record<string, unknown>) => boolean = () => true) =>
  r.box.events.findIndex((e) => e.event === event && pred(e.data as Record<string, unknown>))

for (const mtu of [23, 185, 256]) {
  t.test(
    `a payment at ATT MTU ${mtu}: durable in the box's journal before the receipt, receipt verifies`,
    async (t) => {
      const r = await rig(t, { maxAttMtu: mtu })
      const paid = await r.wallet.call<PayResult>('pay', { tag: r.tag, sticker: r.sticker, amount: 1250 })
      t.notOk(paid.error, 'the payment went through')
      const [link] = r.radio.links()
      t.equal(link?.attMtu, mtu)
      // The hello rides the State start write when 0x01 || hello fits one ATT value; otherwise it is chunked.
      const helloChunks = 1 + 33 <= mtu - 3 ? 0 : chunks(33, mtu)
      t.equal(link?.up.attOps.write_cmd, helloChunks + chunks(SEALED_TOKEN, mtu), 'Client2Server writes')
      // Server2Client chunks, plus the box's State 0x02 when its end of the session beats the wallet's.
      const notified = chunks(BOX_HELLO, mtu) + chunks(SEALED_RECEIPT, mtu)
      t.ok(
        [notified, notified + 1].includes(link?.down.attOps.notify ?? 0),
        `notifications: ${notified} (+1 State end)`,
      )
      t.same(r.radio.violations, {
        aclOverflow: 0,
        aclTooLong: 0,
        aclDropped: 0,
        malformed: 0,
        unknownCommands: [],
      })

      await r.box.waitForEvent((e) => e.event === 'session-end')
      const durable = indexOf(r, 'durable', (d) => d.txId === paid.txId)
      const sealedReplies = r.box.events.flatMap((e, i) =>
        e.event === 'sent' && (e.data as { kind: number }).kind === 3 ? [i] : [],
      )
      t.equal(sealedReplies.length, 1, 'one sealed reply (the receipt)')
      t.ok(
        durable >= 0 && durable < sealedReplies[0]!,
        'the journal write was durable before the receipt was sent',
      )

      const journal = await journalAfterPowerCut(r)
      t.same(
        journal.map((p) => [p.txId, p.amount, p.channel]),
        [[paid.txId, 1250, 'ble']],
        'the journal holds it after a power cut',
      )
      checkReceipt(t, r, paid.receipt, journal[0]!.token)
      t.same(paid.receipt, journal[0]!.receipt, 'the wallet holds the receipt the box stored')
    },
  )
}

t.test(
  'a payment with one ACL buffer (a Number Of Completed Packets wait per packet) and 27-byte ACL',
  async (t) => {
    const r = await rig(t, { maxAttMtu: 185, aclBufferPackets: 1, aclDataLength: 27 })
    const first = await r.wallet.call<PayResult>('pay', { tag: r.tag, sticker: r.sticker, amount: 300 })
    const second = await r.wallet.call<PayResult>('pay', { tag: r.tag, sticker: r.sticker, amount: 400 })
    t.notOk(first.error)
    t.notOk(second.error)
    t.equal(r.radio.violations.aclOverflow, 0, 'neither host overran the single buffer')
    t.equal(r.radio.violations.aclTooLong, 0)
    const journal = await journalAfterPowerCut(r)
    t.same(
      journal.map((p) => p.amount),
      [300, 400],
    )
    checkReceipt(t, r, second.receipt, journal[1]!.token)
  },
)

t.test(
  'link lost before the whole token arrived: nothing taken; the retry is refused; paying afresh works',
  async (t) => {
    const r = await rig(t, { maxAttMtu: 185 })
    r.radio.cutLinkAfterWrites(1) // the first of the token's two chunks arrives, then the phone walks away
    const lost = await r.wallet.call<PayResult>('pay', { tag: r.tag, sticker: r.sticker, amount: 700 })
    t.equal(lost.error?.code, 'ble')
    t.equal(lost.error?.causeCode, 'DISCONNECTED', 'the wallet learns the link dropped')
    await r.box.waitForEvent((e) => e.event === 'session-end')
    t.same(await r.box.call('payments'), [], 'the box took nothing')
    const [entry] = await r.wallet.call<Array<{ txId: string }>>('log')
    t.ok(entry, 'the wallet logged the token it signed')

    await r.radio.waitFor((cs) => cs.some((x) => x.advertising && x.localName === `OPG ${r.tag}`))
    const retry = await r.wallet.call<PayResult>('retry', { tag: r.tag, txId: entry!.txId })
    t.equal(retry.status, 'not_received', 'the box says it does not hold it')
    t.same(await r.box.call('payments'), [], 'and the old token (old challenge) is not taken now either')
    const log = await r.wallet.call<Array<{ txId: string; refused?: string }>>('log')
    t.equal(log[0]?.refused, 'bad_challenge', 'the wallet marks it refused: it is never uploaded')

    const again = await r.wallet.call<PayResult>('pay', { tag: r.tag, sticker: r.sticker, amount: 700 })
    t.notOk(again.error, 'paying afresh works')
    const journal = await journalAfterPowerCut(r)
    t.same(
      journal.map((p) => [p.txId, p.amount]),
      [[again.txId, 700]],
      'exactly one payment recorded',
    )
  },
)

t.test(
  'link lost after the token arrived: the retry gets the same receipt, the box records it once',
  async (t) => {
    const r = await rig(t, { maxAttMtu: 185 })
    r.radio.cutLinkAfterWrites(2) // the whole token arrives; the receipt cannot go back
    const lost = await r.wallet.call<PayResult>('pay', { tag: r.tag, sticker: r.sticker, amount: 900 })
    t.equal(lost.error?.causeCode, 'DISCONNECTED')
    const [entry] = await r.wallet.call<Array<{ txId: string; receipt?: string }>>('log')
    t.notOk(entry?.receipt, 'no receipt reached the wallet')
    await r.box.waitForEvent((e) => e.event === 'durable')
    t.same(await r.box.call('payments'), [{ txId: entry!.txId, amount: 900 }], 'the box took it')

    await r.radio.waitFor((cs) => cs.some((x) => x.advertising && x.localName === `OPG ${r.tag}`))
    const retry = await r.wallet.call<PayResult>('retry', { tag: r.tag, txId: entry!.txId })
    t.notOk(retry.error)
    t.equal(retry.status, 'received', 'the retry gets a receipt')
    const again = await r.wallet.call<PayResult>('retry', { tag: r.tag, txId: entry!.txId })
    t.equal(again.status, 'received', 'as often as the wallet asks')
    const journal = await journalAfterPowerCut(r)
    t.same(
      journal.map((p) => p.txId),
      [entry!.txId],
      'recorded once',
    )
    t.same(retry.receipt, journal[0]!.receipt, 'the very receipt stored with the payment')
    t.same(again.receipt, journal[0]!.receipt)
    checkReceipt(t, r, retry.receipt, journal[0]!.token)
  },
)

t.test(
  'garbage, empty, oversized chunks and a bogus hello get typed errors; the box keeps serving',
  async (t) => {
    const r = await rig(t, { maxAttMtu: 185 })
    const cases: Array<{ chunks?: Uint8Array[]; messages?: Uint8Array[]; code?: string }> = [
      { chunks: [Uint8Array.of(0x07, 1, 2, 3)], code: 'bad_encoding' },
      { chunks: [new Uint8Array(0)], code: 'truncated' },
      { messages: [new Uint8Array(P.BLE_MESSAGE_MAX + 1)], code: 'oversized' },
      // Well framed, but not a WalletHello: the session logic refuses it and ends the session.
      { messages: [Uint8Array.of(0x09, 1, 2, 3)] },
    ]
    for (const x of cases) {
      const before = r.box.events.length
      const res = await r.wallet.call<{ error?: { code?: string } }>('raw', { tag: r.tag, ...x })
      t.equal(
        res.error?.code,
        'ENDED_BY_BOX',
        `${x.code ?? 'bogus hello'}: the wallet is told the box ended the session`,
      )
      await r.box.waitForEvent((e) => e.event === 'session-end' && r.box.events.indexOf(e) >= before)
      const end = r.box.events.slice(before).find((e) => e.event === 'session-end')?.data as {
        reason: string
        code?: string
      }
      if (x.code) t.same([end.reason, end.code], ['protocol_error', x.code], `framing error '${x.code}'`)
      else t.equal(end.reason, 'ended_by_box')
    }
    t.same(await r.box.call('payments'), [], 'nothing was taken')
    const ok = await r.wallet.call<PayResult>('pay', { tag: r.tag, sticker: r.sticker, amount: 100 })
    t.notOk(ok.error, 'then a real payment goes through')
    t.same(await r.box.call('payments'), [{ txId: ok.txId, amount: 100 }])
  },
)
