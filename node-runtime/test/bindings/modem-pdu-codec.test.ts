// The box's SMS PDU codec against published vectors, against the modem simulator's independent encoder and
// decoder, and against malformed input: any PDU that lies about itself is a PduError, never a partial text.
import { decodeSubmit, encodeDeliver } from '@opg/testkit/modem-sim/index.js'
import t from 'tap'
import { decodeDeliver, encodeSubmit, gsmSeptets, PduError } from '../../src/bindings/modem/index.js'

const at = new Date('2026-11-27T10:15:30Z')

t.test('published SMS-DELIVER vectors', async (t) => {
  // The classic "hellohello" example (national sender, +02:00 time zone as 8 quarter hours).
  t.same(decodeDeliver('07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37'), {
    from: '27838890001',
    text: 'hellohello',
    sentAt: new Date('1999-03-29T13:16:59Z'),
  })
  // GSM 7-bit 'è' (0x04) and a +07:00 zone; node-pdu issue #33 got this one wrong.
  t.same(decodeDeliver('07914889200009F4040B914843807079F300006220813205908205CF35C84D00'), {
    from: '+84340807973',
    text: 'Ok nè',
    sentAt: new Date('2026-02-18T16:50:09Z'),
  })
})

t.test('SMS-SUBMIT: single part, GSM 7-bit, the SIM’s own service centre', async (t) => {
  // The same bytes node-sms-pdu 0.3.0 produces for this message.
  t.same(encodeSubmit('+4915112345678', 'OPG1 PAID x'), {
    hex: '0001000D91945111325476F800000B4FE8310682069344101E',
    tpduLength: 24,
  })
  const all = '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./09:;<=>?¡AZÄÖÑÜ§¿azäöñüà^{}\\[~]|€'
  t.same(
    decodeSubmit(encodeSubmit('015112345', all).hex),
    { to: '015112345', text: all },
    'every GSM character',
  )
  t.equal(gsmSeptets(all), all.length + 9, 'nine extension characters cost two septets each')
  t.equal(
    decodeSubmit(encodeSubmit('+49', 'x'.repeat(160)).hex).text,
    'x'.repeat(160),
    '160 septets fit one SMS',
  )
  t.throws(() => encodeSubmit('+49', 'x'.repeat(161)), PduError)
  t.throws(() => encodeSubmit('+49', '['.repeat(81)), PduError, '81 brackets are 162 septets')
  t.throws(() => encodeSubmit('+49', 'naïve'), PduError, 'ï is not in GSM 7-bit')
  t.throws(() => encodeSubmit('call me', 'x'), PduError)
  t.equal(gsmSeptets('₹'), null)
})

t.test('decodes what the simulated network encodes', async (t) => {
  const texts = [
    'OPG1 PAID INV-7 12345 INR 1 0123456789ABCDEF',
    'OK\nERROR\n+CMS ERROR: 500\nNO CARRIER\nRDY\nSMS DONE\nRING\n+CMTI: "SM",3',
    'braces {x} [y] ~z~ | \\ ^ € and a form feed \f',
  ]
  for (const text of texts)
    t.same(decodeDeliver(encodeDeliver('+4915112345678', text, { at })[0]!), {
      from: '+4915112345678',
      text,
      sentAt: at,
    })
  const ucs2 = 'Grüße 😀 ₹ 支付 ERROR'
  t.same(
    decodeDeliver(encodeDeliver('+919876543210', ucs2, { at })[0]!).text,
    ucs2,
    'UCS-2 with a surrogate pair',
  )
  t.same(decodeDeliver(encodeDeliver('MyBank', 'hi', { at })[0]!).from, 'MyBank', 'alphanumeric sender')
  t.same(decodeDeliver(encodeDeliver('0301234567', 'hi', { at })[0]!).from, '0301234567', 'national number')

  const long = `${'[long] '.repeat(50)}end`
  const parts = encodeDeliver('+4915112345678', long, { at, ref: 77 })
  t.equal(parts.length, 3)
  const decoded = parts.map((p) => decodeDeliver(p))
  t.same(
    decoded.map((d) => d.concat),
    [1, 2, 3].map((seq) => ({ ref: 77, total: 3, seq })),
  )
  t.equal(decoded.map((d) => d.text).join(''), long, 'GSM 7-bit parts join to the text (escapes never split)')
  const emoji = '😀'.repeat(50)
  const uparts = encodeDeliver('+4915112345678', emoji, { at, ref: 9 })
  t.equal(uparts.map((p) => decodeDeliver(p).text).join(''), emoji, 'UCS-2 parts keep surrogate pairs whole')
})

t.test('a 16-bit concatenation reference and unknown header elements', async (t) => {
  // SMS-DELIVER, UDHI, UCS-2; UDH: a port-addressing element (05), then 16-bit concat (08) ref 0x1234, 2 of 2.
  const udh = '0C' + '0504' + '0B840000' + '0804' + '12340202'
  const body = '00480069' // "Hi"
  const udl = (udh.length + body.length) / 2
  const pdu =
    `0044` +
    `0B919451152143F5` +
    `0008` +
    '62117201000000' +
    udl.toString(16).padStart(2, '0').toUpperCase() +
    udh +
    body
  t.same(decodeDeliver(pdu), {
    from: '+49155112345',
    text: 'Hi',
    sentAt: new Date('2026-11-27T10:00:00Z'),
    concat: { ref: 0x1234, total: 2, seq: 2 },
  })
})

t.test('malformed PDUs are PduErrors', async (t) => {
  const good = encodeDeliver('+4915112345678', 'hello', { at })[0]!
  const cases: [string, string, number?][] = [
    ['empty', ''],
    ['odd hex', good.slice(0, -1)],
    ['not hex', good.replace(/.$/, 'G')],
    ['truncated user data', good.slice(0, -2)],
    ['truncated before the time stamp', good.slice(0, 40)],
    ['SMSC length beyond the PDU', 'FF00'],
    ['declared length does not match', good, 3],
    ['an SMS-SUBMIT, not a DELIVER', encodeSubmit('+49', 'x').hex],
    ['compressed text', good.replace(/^(.{38})00/, '$120')],
    ['UCS-2 with an odd octet count', '0004009100086211720100000003004800'],
    ['user data header longer than the data', '00440091000062117201000000020A00'],
  ]
  for (const [label, hex, len] of cases) t.throws(() => decodeDeliver(hex, len), PduError, label)
  t.equal(decodeDeliver(good, good.length / 2 - 8).text, 'hello', 'the right declared length passes')

  // Random bytes: only ever a PduError or a decoded message, never another exception or a hang.
  let seed = 12345
  const rnd = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
    return seed >>> 16
  }
  let other = 0
  for (let i = 0; i < 3000; i++) {
    const bytes = Buffer.from(Array.from({ length: rnd() % 60 }, () => rnd() & 0xff))
    // Keep many of them plausible: no SMSC, an SMS-DELIVER first octet.
    if (i % 2 && bytes.length > 2) bytes.set([0, bytes[1]! & 0x44], 0)
    try {
      decodeDeliver(bytes.toString('hex'))
    } catch (err) {
      if (!(err instanceof PduError)) other++
    }
  }
  t.equal(other, 0, 'no exception other than PduError')
})
