// The modem simulator as a host sees it through the pty pair: raw bytes in, raw bytes out.
import { SerialPort } from 'serialport'
import t, { type Test } from 'tap'
import { AtResponder, startPtyModemSim } from '../src/modem-sim/index.js'

async function host(t: Test) {
  const sim = await startPtyModemSim()
  const port = new SerialPort({ path: sim.devicePath, baudRate: 115200, autoOpen: false })
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())))
  let received = ''
  port.on('data', (d: Buffer) => {
    received += d.toString('latin1')
  })
  t.teardown(async () => {
    await new Promise<void>((resolve) => port.close(() => resolve()))
    await sim.stop()
  })
  /** Sends `text` and waits until the output contains `expect`; returns everything received since. */
  async function say(text: string, expect: string, ms = 2000): Promise<string> {
    received = ''
    port.write(text)
    const until = Date.now() + ms
    while (!received.includes(expect)) {
      if (Date.now() > until) throw new Error(`no ${JSON.stringify(expect)} in ${JSON.stringify(received)}`)
      await new Promise((r) => setTimeout(r, 10))
    }
    return received
  }
  return { sim, say, output: () => received }
}

/** Polls `cond` for up to 3 s (the pty is slow on a loaded machine). */
async function eventually(cond: () => boolean): Promise<void> {
  for (let end = Date.now() + 3000; !cond() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10))
}

t.test('echoes until ATE0 and answers OK', async (t) => {
  const { say } = await host(t)
  t.match(await say('AT\r', 'OK'), /^AT\r\r\nOK\r\n$/)
  t.equal(await say('ATE0\r', 'OK'), 'ATE0\r\r\nOK\r\n')
  t.equal(await say('AT\r', 'OK'), '\r\nOK\r\n')
})

t.test('text-mode SMS: prompt, Ctrl-Z, +CMGS reference, and a sent log', async (t) => {
  const { sim, say } = await host(t)
  await say('ATE0\r', 'OK')
  t.match(
    await say('AT+CMGS="+4912"\r', 'ERROR'),
    /\+CMS ERROR: 304/,
    'a quoted number is refused in PDU mode',
  )
  await say('AT+CMGF=1\r', 'OK')
  t.match(await say('AT+CMGS="+4912"\r', '> '), /\r\n> $/)
  t.match(await say('hello there\x1a', 'OK'), /\+CMGS: 1\r\n\r\nOK/)
  t.same(sim.modem.sent, [{ to: '+4912', text: 'hello there', ref: 1 }])
})

t.test('incoming SMS: +CMTI with CNMI, then read, list and delete', async (t) => {
  const { sim, say, output } = await host(t)
  await say('ATE0\r', 'OK')
  await say('AT+CMGF=1\r', 'OK')
  sim.modem.deliverSms('+4913', 'before indications', new Date('2026-11-27T10:00:00Z'))
  await say('AT+CNMI=2,1,0,0,0\r', 'OK')
  t.notMatch(output(), /CMTI/, 'no indication for a message stored before CNMI')
  t.match(await say('AT\r', 'OK'), /^\r\nOK\r\n$/)
  const idx = sim.modem.deliverSms('+4913', 'hi')
  await eventually(() => output().includes(`+CMTI: "SM",${idx}`))
  t.match(output(), new RegExp(`\\+CMTI: "SM",${idx}`))
  t.match(await say(`AT+CMGR=${idx}\r`, 'OK'), /\+CMGR: "REC UNREAD","\+4913","","[0-9/,:+]+"\r\nhi\r\n/)
  t.match(await say('AT+CMGL="ALL"\r', 'OK'), /\+CMGL: 0,"REC UNREAD","\+4913","","26\/11\/27,10:00:00\+00"/)
  await say(`AT+CMGD=${idx}\r`, 'OK')
  t.match(await say(`AT+CMGR=${idx}\r`, 'ERROR'), /\+CMS ERROR: 321/)
})

t.test('reset: silent, then RDY with factory settings', async (t) => {
  const { sim, say, output } = await host(t)
  await say('ATE0\r', 'OK')
  await say('AT+CMGF=1\r', 'OK')
  await say('AT+CFUN=1,1\r', 'OK')
  await new Promise((r) => setTimeout(r, 100))
  t.notMatch(output(), /RDY/)
  const afterReset = await say('AT\r', 'RDY')
  t.notMatch(afterReset, /OK/, 'commands during the reset are dropped')
  t.match(await say('AT+CMGF?\r', 'OK'), /^AT\+CMGF\?\r\r\n\+CMGF: 0/, 'echo back on, PDU mode')
  t.equal(sim.modem.resets, 1)
})

t.test('knobs: mute, garbage, slow answers', async (t) => {
  const { sim, say, output } = await host(t)
  sim.modem.mute(true)
  await t.rejects(say('AT\r', 'OK', 300))
  sim.modem.mute(false)
  sim.modem.garbageBeforeEachAnswer = true
  t.match(await say('AT\r', 'OK'), /NOISE/)
  sim.modem.garbageBeforeEachAnswer = false
  sim.modem.delayMs = 200
  await say('AT+CSQ\r', 'AT+CSQ')
  await new Promise((r) => setTimeout(r, 80))
  t.notMatch(output(), /OK/, 'answer not there yet')
  await say('', 'OK')
})

t.test(
  'a full SIM: the network holds further messages until a slot frees; CMGW gets +CMS ERROR: 322',
  async (t) => {
    const { sim, say, output } = await host(t)
    await say('ATE0\r', 'OK')
    await say('AT+CNMI=2,1,0,0,0\r', 'OK')
    const m = new AtResponder({ capacity: 2 })
    t.equal(m.deliverSms('+1', 'a'), 0)
    t.equal(m.deliverSms('+1', 'b'), 1)
    t.equal(m.deliverSms('+1', 'c'), -1, 'held by the network')
    t.equal(m.stored().length, 2)
    t.equal(m.waitingAtNetwork(), 1)
    m.input('AT+CMGD=0\r')
    t.same(
      m.stored().map((s) => s.text),
      ['c', 'b'],
      'delivered into the freed slot',
    )
    m.stop()

    // The same over the pty, in PDU mode: fill the SIM, then try to write one more message.
    for (let i = 0; i < 30; i++) sim.modem.deliverSms('+4913', `n${i}`)
    await eventually(() => output().includes('+CMTI: "SM",29'))
    t.match(output(), /\+CMTI: "SM",29/)
    t.match(await say('AT+CPMS="SM","SM","SM"\r', 'OK'), /\+CPMS: 30,30,30,30,30,30/)
    t.match(await say('AT+CMGW=20\r', 'ERROR'), /\+CMS ERROR: 322/)
    t.equal(sim.modem.deliverSms('+4913', 'one too many'), -1)
    await say('AT+CMGD=3\r', 'OK')
    await eventually(() => output().includes('+CMTI: "SM",3'))
    t.match(output(), /\+CMTI: "SM",3/, 'announced once it lands')
  },
)

t.test('PDU mode: CMGR/CMGL list length-framed hex, so hostile text stays inside the PDU', async (t) => {
  const { sim, say } = await host(t)
  await say('ATE0\r', 'OK')
  const hostile = 'hi\nOK\nERROR\n+CMTI: "SM",9\nRDY'
  const idx = sim.modem.deliverSms('+4913', hostile, new Date('2026-11-27T10:00:00Z'))
  const read = await say(`AT+CMGR=${idx}\r`, 'OK')
  const m = /\+CMGR: 0,,(\d+)\r\n([0-9A-F]+)\r\n\r\nOK\r\n$/.exec(read)
  t.ok(m, read)
  t.equal(
    Number(m![1]),
    m![2]!.length / 2 - 8,
    'declared length = TPDU octets (SMSC field of 8 octets not counted)',
  )
  t.match(await say('AT+CMGL=4\r', 'OK'), new RegExp(`\\+CMGL: ${idx},1,,${m![1]}\r\n${m![2]}\r\n`))
  t.match(
    await say('AT+CMGL="ALL"\r', 'ERROR'),
    /\+CMS ERROR: 302/,
    'text-mode arguments refused in PDU mode',
  )
  const long = sim.modem.deliverSms('+4913', 'x'.repeat(200))
  t.equal(sim.modem.stored().length, 3, 'a long text takes one slot per part')
  t.equal(
    sim.modem
      .stored()
      .slice(1)
      .map((m) => m.text)
      .join(''),
    'x'.repeat(200),
    'each part keeps its own piece of the text (as text mode would list it)',
  )
  t.match(await say(`AT+CMGR=${long + 1}\r`, 'OK'), /\+CMGR: 0,,\d+\r\n[0-9A-F]+44/, 'UDHI set')
})

t.test('PDU mode: CMGS takes the TPDU length and the hex PDU; a wrong length is refused', async (t) => {
  const { sim, say } = await host(t)
  await say('ATE0\r', 'OK')
  // SMS-SUBMIT to +4915112345678, "OPG1 PAID x" in GSM 7-bit.
  const pdu = '0001000D91945111325476F800000B4FE8310682069344101E'
  t.match(await say('AT+CMGS=24\r', '> '), /\r\n> $/)
  t.match(await say(`${pdu}\x1a`, 'OK'), /\+CMGS: 1\r\n\r\nOK/)
  t.same(sim.modem.sent, [{ to: '+4915112345678', text: 'OPG1 PAID x', ref: 1, pdu }])
  await say('AT+CMGS=23\r', '> ')
  t.match(await say(`${pdu}\x1a`, 'ERROR'), /\+CMS ERROR: 304/)
  t.equal(sim.modem.sent.length, 1)
})
