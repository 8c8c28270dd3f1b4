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

t.test('echoes until ATE0 and answers OK', async (t) => {
  const { say } = await host(t)
  t.match(await say('AT\r', 'OK'), /^AT\r\r\nOK\r\n$/)
  t.equal(await say('ATE0\r', 'OK'), 'ATE0\r\r\nOK\r\n')
  t.equal(await say('AT\r', 'OK'), '\r\nOK\r\n')
})

t.test('text-mode SMS: prompt, Ctrl-Z, +CMGS reference, and a sent log', async (t) => {
  const { sim, say } = await host(t)
  await say('ATE0\r', 'OK')
  t.match(await say('AT+CMGS="+4912"\r', 'ERROR'), /\+CMS ERROR: 304/, 'refused in PDU mode')
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
  await new Promise((r) => setTimeout(r, 100))
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

t.test('responder without transport counts storage and refuses when full', async (t) => {
  const m = new AtResponder({ capacity: 2 })
  m.deliverSms('+1', 'a')
  m.deliverSms('+1', 'b')
  t.throws(() => m.deliverSms('+1', 'c'))
  t.equal(m.stored().length, 2)
  m.stop()
})
