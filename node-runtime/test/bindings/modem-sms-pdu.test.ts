// SerialModem in PDU mode against the modem simulator over a socat pty and the real serialport binding:
// hostile texts, UCS-2, concatenated messages, a full SIM, unreadable messages, a failing sweep — none of which
// may cost the box its modem, and none of which may take a message off the SIM before its listeners have it.
import { encodeDeliver, type PtyModemSim, startPtyModemSim } from '@opg/testkit/modem-sim/index.js'
import t, { type Test } from 'tap'
import {
  type DiscardedSms,
  type ModemStatus,
  SerialModem,
  type SerialModemOptions,
  type SmsMessage,
} from '../../src/bindings/modem/index.js'

const fast: Omit<SerialModemOptions, 'path'> = {
  commandTimeoutMs: 1500,
  sendTimeoutMs: 1500,
  probeTimeoutMs: 300,
  healthCheckMs: 0,
  recoveryDelayMs: 200,
  resetWaitMs: 700,
  settleMs: 30,
}

interface Rig {
  sim: PtyModemSim
  modem: SerialModem
  got: SmsMessage[]
  statuses: ModemStatus[]
  errors: unknown[]
  discarded: DiscardedSms[]
}

async function setup(t: Test, opts: Partial<SerialModemOptions> = {}, capacity?: number): Promise<Rig> {
  const sim = await startPtyModemSim(capacity === undefined ? {} : { capacity })
  const errors: unknown[] = []
  const discarded: DiscardedSms[] = []
  const modem = new SerialModem({
    path: sim.devicePath,
    ...fast,
    onError: (e) => errors.push(e),
    onDiscard: (d) => discarded.push(d),
    ...opts,
  })
  const statuses: ModemStatus[] = []
  const got: SmsMessage[] = []
  modem.onStatus((s) => statuses.push(s))
  modem.onSms((m) => {
    got.push(m)
  })
  t.teardown(async () => {
    await modem.stop()
    await sim.stop()
  })
  return { sim, modem, got, statuses, errors, discarded }
}

async function until(what: string, cond: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Waits for the SIM to be empty and for every command queued so far to finish. */
async function drained(r: Rig): Promise<void> {
  await until('an empty SIM', () => r.sim.modem.stored().length === 0 && r.sim.modem.waitingAtNetwork() === 0)
  await r.modem.registration()
}

const at = new Date('2026-11-27T10:15:30Z')

/** Every line a modem could send that once ended an answer or posed as an unsolicited code. */
const HOSTILE = [
  ['OK', 'ERROR', '+CMS ERROR: 500', '+CME ERROR: 14', 'NO CARRIER', 'COMMAND NOT SUPPORT'].join('\n'),
  ['RDY', 'SMS DONE', '+CPIN: READY', 'RING', 'PB DONE', 'POWERED DOWN'].join('\n'),
  '+CMTI: "SM",7\n+CMTI: "SM",0\n+CMT: "+1",,"26/01/01,00:00:00+00"\n> ',
  'OPG1 PAID INV-7 12345 INR 1 0123456789ABCDEF\nERROR',
]

t.test('hostile texts: every result code and URC on its own line is just text', async (t) => {
  const r = await setup(t)
  await r.modem.start()
  for (const text of HOSTILE) r.sim.modem.deliverSms('+4930123456', text, at)
  await until('four messages', () => r.got.length === 4)
  await drained(r)
  t.same(
    r.got.map((m) => m.text),
    HOSTILE,
    'delivered verbatim, in order',
  )
  t.ok(
    r.got.every((m) => m.from === '+4930123456' && m.receivedAt.getTime() === at.getTime()),
    'sender and network time',
  )
  t.notOk(r.statuses.includes('recovering'), 'the modem was never taken for broken')
  t.equal(r.sim.modem.resets, 0, 'no reset')
  t.same(r.discarded, [])
  t.equal(await r.modem.sendSms('+4930123456', 'still talking'), 1, 'sending still works')
})

t.test('hostile texts waiting on the SIM at start: the sweep takes them and reaches ready', async (t) => {
  const r = await setup(t)
  for (const text of HOSTILE) r.sim.modem.deliverSms('+4930123456', text, at)
  await r.modem.start()
  t.equal(r.statuses.at(-1), 'ready')
  t.same(
    r.got.map((m) => m.text),
    HOSTILE,
  )
  t.same(r.sim.modem.stored(), [])
})

t.test('UCS-2 texts arrive exactly', async (t) => {
  const r = await setup(t)
  await r.modem.start()
  const texts = ['Grüße aus Köln 😀', 'भुगतान ₹250 प्राप्त\nERROR', '支付成功 OK']
  for (const text of texts) r.sim.modem.deliverSms('+919876543210', text, at)
  await until('three messages', () => r.got.length === 3)
  t.same(
    r.got.map((m) => m.text),
    texts,
  )
})

t.test('concatenated messages are joined once and all their slots freed, in any order', async (t) => {
  const r = await setup(t)
  await r.modem.start()
  const gsm = `${'Line [one] of a long notice with € and {braces}.\n'.repeat(9)}ERROR`
  t.equal(encodeDeliver('+4930123456', gsm).length, 4, 'four parts')
  r.sim.modem.deliverSms('+4930123456', gsm, at, { order: [4, 1, 3, 2], ref: 5 })
  const ucs2 = `${'₹ 😀 '.repeat(40)}fin`
  r.sim.modem.deliverSms('+4930123456', ucs2, at, { ref: 6 })
  await until('two messages', () => r.got.length === 2)
  await drained(r)
  t.same(
    r.got.map((m) => m.text),
    [gsm, ucs2],
  )
  t.same(r.discarded, [])
})

t.test('a concatenated message that arrived while the box was off is joined by the sweep', async (t) => {
  const r = await setup(t)
  const text = 'z'.repeat(300)
  r.sim.modem.deliverSms('+4930123456', 'single', at)
  r.sim.modem.deliverSms('+4930123456', text, at, { order: [2, 1] })
  await r.modem.start()
  t.same(r.got.map((m) => m.text).sort(), ['single', text].sort())
  t.same(r.sim.modem.stored(), [])
})

t.test(
  'a full SIM with unreadable messages in it is emptied; what the network held then arrives',
  async (t) => {
    const r = await setup(t, {}, 10)
    const good = encodeDeliver('+4930123456', 'fine', { at })[0]!
    for (let i = 0; i < 7; i++) r.sim.modem.deliverSms('+4930123456', `queued ${i}\nOK`, at)
    r.sim.modem.deliverPdu(good.slice(0, -4)) // truncated
    r.sim.modem.deliverPdu(good, { length: 3 }) // the modem declares a length that does not fit
    r.sim.modem.deliverPdu('00') // no TPDU at all
    t.equal(r.sim.modem.stored().length, 10, 'the SIM is full')
    for (let i = 0; i < 4; i++) t.equal(r.sim.modem.deliverSms('+4930123456', `later ${i}`, at), -1)
    t.equal(r.sim.modem.waitingAtNetwork(), 4, 'the network holds the rest')
    await r.modem.start()
    t.equal(r.statuses.at(-1), 'ready')
    await until('eleven messages', () => r.got.length === 11)
    await drained(r)
    t.same(
      r.got.map((m) => m.text),
      [
        ...Array.from({ length: 7 }, (_, i) => `queued ${i}\nOK`),
        ...Array.from({ length: 4 }, (_, i) => `later ${i}`),
      ],
    )
    t.equal(r.discarded.length, 3, 'three unreadable messages reported')
    t.match(r.discarded, [
      { indexes: [7], reason: 'unreadable', attempts: 3, pdus: [good.slice(0, -4)], detail: /ends/ },
      { indexes: [8], reason: 'unreadable', detail: /declared 3 octets/ },
      { indexes: [9], reason: 'unreadable', detail: /ends before/ },
    ])
    t.equal(r.modem.discardedCount, 3)
    t.equal(
      r.errors.filter((e) => (e as { code?: string }).code === 'UNREADABLE_SMS').length,
      3,
      'and logged',
    )
  },
)

t.test(
  'a slot the modem cannot read is retried, then deleted and reported; the next message flows',
  async (t) => {
    const r = await setup(t)
    await r.modem.start()
    r.sim.modem.failNext('AT+CMGR', '+CMS ERROR: 500', 3)
    r.sim.modem.deliverSms('+4930123456', 'never readable', at)
    await until('a discard', () => r.discarded.length === 1)
    t.match(r.discarded[0], { reason: 'unreadable', attempts: 3, pdus: [], detail: /CMS ERROR: 500/ })
    t.equal(r.sim.modem.commands.filter((c) => c.startsWith('AT+CMGR')).length, 3, 'three tries')
    r.sim.modem.deliverSms('+4930123456', 'after it', at)
    await until('the next message', () => r.got.length === 1)
    t.equal(r.got[0]!.text, 'after it')
    await drained(r)
    t.notOk(r.statuses.includes('recovering'))
  },
)

t.test('a read that fails once is retried and delivered, not deleted', async (t) => {
  const r = await setup(t)
  await r.modem.start()
  r.sim.modem.failNext('AT+CMGR', '+CMS ERROR: 500', 1)
  r.sim.modem.deliverSms('+4930123456', 'second time lucky', at)
  await until('the message', () => r.got.length === 1)
  t.same(r.discarded, [])
})

t.test('a failed sweep never blocks ready, and is retried', async (t) => {
  const r = await setup(t, { sweepRetryMs: 300 })
  r.sim.modem.deliverSms('+4930123456', 'waiting on the SIM', at)
  r.sim.modem.failNext('AT+CMGL', '+CMS ERROR: 500', 1)
  await r.modem.start()
  t.equal(r.statuses.at(-1), 'ready', 'ready despite the failed sweep')
  t.match(r.errors, [{ code: 'SWEEP_FAILED' }])
  t.equal(await r.modem.sendSms('+4930123456', 'can send'), 1)
  await until('the retried sweep', () => r.got.length === 1)
  t.equal(r.got[0]!.text, 'waiting on the SIM')
})

t.test('parts that never complete are reported and deleted after the part timeout', async (t) => {
  const r = await setup(t, { partTimeoutMs: 300 })
  await r.modem.start()
  const [first] = encodeDeliver('+4930123456', 'y'.repeat(200), { at, ref: 42 })
  r.sim.modem.deliverPdu(first!)
  await until('a discard', () => r.discarded.length === 1)
  t.match(r.discarded[0], { reason: 'incomplete', attempts: 1, pdus: [first], detail: /parts 1 of 2/ })
  await drained(r)
  t.same(r.got, [])
})

t.test('a concatenated message stays on the SIM until its listener has stored it', async (t) => {
  const r = await setup(t)
  let fail = true
  r.modem.onSms(async () => {
    if (fail) throw new Error('journal unavailable')
  })
  await r.modem.start()
  r.sim.modem.deliverSms('+4930123456', 'w'.repeat(200), at)
  await until('delivery', () => r.got.length === 1)
  await r.modem.registration()
  t.equal(r.sim.modem.stored().length, 2, 'both parts kept for the next sweep')
  t.same(r.discarded, [], 'a failing listener is not an unreadable message')
  fail = false
  await r.modem.stop()
  await r.modem.start()
  t.equal(r.got.length, 2, 'delivered again at the next start')
  t.same(r.sim.modem.stored(), [])
})

t.test('sending: a GSM 7-bit SMS-SUBMIT the network reads back exactly', async (t) => {
  const r = await setup(t)
  await r.modem.start()
  const text = 'OPG1 ACK {x} [y] ~ | \\ ^\n'.padEnd(150, '.')
  await r.modem.sendSms('+4915112345678', text)
  await r.modem.sendSms('015112345', 'x'.repeat(160))
  t.match(r.sim.modem.sent, [
    { to: '+4915112345678', text },
    { to: '015112345', text: 'x'.repeat(160) },
  ])
  t.ok(r.sim.modem.commands.includes('AT+CMGS=153'), 'length-framed: 160 septets are 140 octets + 13 header')
})
