// The AT channel on serialport's mock binding (bytes scripted by hand) and the pure response parsers.
import { SerialPortMock } from 'serialport'
import t, { type Test } from 'tap'
import { AtChannel, parseCmgl, parseCmgr, parseCmti } from '../../src/bindings/modem/index.js'

async function openMock(t: Test) {
  const path = `/dev/mock-at-${Math.random().toString(16).slice(2)}`
  SerialPortMock.binding.createPort(path, { record: true })
  const port = new SerialPortMock({ path, baudRate: 115200, autoOpen: false })
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())))
  // The port's owner handles stream errors (a write cancelled by close); here there is nothing to do.
  port.on('error', () => {})
  const urcs: string[] = []
  const echoes: string[] = []
  const channel = new AtChannel(port, { onUrc: (l) => urcs.push(l), onEcho: (c) => echoes.push(c) })
  channel.attach()
  t.teardown(async () => {
    channel.detach()
    await new Promise<void>((resolve) => port.close(() => resolve()))
  })
  const binding = port.port!
  /** Waits until the host has written `text`, then answers with `reply`. */
  async function answer(text: string, reply: string): Promise<void> {
    for (let i = 0; i < 200 && !binding.recording.toString('latin1').includes(text); i++) {
      await new Promise((r) => setTimeout(r, 5))
    }
    binding.emitData(reply)
  }
  return { channel, binding, urcs, echoes, answer }
}

t.test('a URC in the middle of an answer is dispatched and does not corrupt the answer', async (t) => {
  const { channel, urcs, answer } = await openMock(t)
  const p = channel.exec({ command: 'AT+CSQ', timeoutMs: 1000, infoPrefixes: ['+CSQ:'] })
  await answer('AT+CSQ\r', '\r\n+CSQ: 17,99\r\n\r\n+CMTI: "SM",4\r\n\r\nOK\r\n')
  t.same(await p, ['+CSQ: 17,99'])
  t.same(urcs, ['+CMTI: "SM",4'])
})

t.test('answers split across reads and noise lines are handled', async (t) => {
  const { channel, binding, answer } = await openMock(t)
  const p = channel.exec({ command: 'AT+CREG?', timeoutMs: 1000, infoPrefixes: ['+CREG:'] })
  await answer('AT+CREG?\r', '\r\n\u0000\u00ffjunk\r\n\r\n+CR')
  binding.emitData('EG: 0,5\r\n\r')
  binding.emitData('\nOK\r\n')
  t.same(await p, ['+CREG: 0,5'])
  t.equal(channel.garbageLines, 1)
})

t.test('commands run one at a time, in order', async (t) => {
  const { channel, binding, answer } = await openMock(t)
  const a = channel.exec({ command: 'AT+CSQ', timeoutMs: 1000, infoPrefixes: ['+CSQ:'] })
  const b = channel.exec({ command: 'AT+CREG?', timeoutMs: 1000, infoPrefixes: ['+CREG:'] })
  await new Promise((r) => setTimeout(r, 30))
  t.notOk(binding.recording.toString().includes('AT+CREG?'), 'second command waits for the first')
  await answer('AT+CSQ\r', '\r\n+CSQ: 3,99\r\n\r\nOK\r\n')
  await answer('AT+CREG?\r', '\r\n+CREG: 0,1\r\n\r\nOK\r\n')
  t.same(await a, ['+CSQ: 3,99'])
  t.same(await b, ['+CREG: 0,1'])
})

t.test('error results and timeouts reject with codes; the queue moves on', async (t) => {
  const { channel, answer } = await openMock(t)
  const a = channel.exec({ command: 'AT+CMGR=9', timeoutMs: 1000, pduBodies: true })
  await answer('AT+CMGR=9\r', '\r\n+CMS ERROR: 321\r\n')
  await t.rejects(a, { code: 'AT_ERROR' })
  await t.rejects(channel.exec({ command: 'AT+CSQ', timeoutMs: 50 }), { code: 'TIMEOUT' })
  const c = channel.exec({ command: 'AT', timeoutMs: 1000 })
  await answer('AT\r', '\r\nOK\r\n')
  t.same(await c, [])
})

t.test('AT+CMGS: text and Ctrl-Z go out only after the "> " prompt', async (t) => {
  const { channel, binding, answer, echoes } = await openMock(t)
  const p = channel.exec({
    command: 'AT+CMGS="+491234"',
    timeoutMs: 1000,
    promptText: 'hello',
    infoPrefixes: ['+CMGS:'],
  })
  await answer('AT+CMGS="+491234"\r', 'AT+CMGS="+491234"\r\r\n')
  await new Promise((r) => setTimeout(r, 20))
  t.notOk(binding.recording.toString().includes('hello'), 'no text before the prompt')
  binding.emitData('> ')
  await answer('hello\x1a', '\r\n+CMGS: 42\r\n\r\nOK\r\n')
  t.same(await p, ['+CMGS: 42'])
  t.same(echoes, ['AT+CMGS="+491234"'], 'echo is reported, not taken as an answer')
})

t.test('detach fails the queued commands', async (t) => {
  const { channel } = await openMock(t)
  const p = channel.exec({ command: 'AT', timeoutMs: 5000 })
  channel.detach()
  await t.rejects(p, { code: 'STOPPED' })
})

t.test('PDU bodies: the hex line after each header belongs to the answer; nothing else can', async (t) => {
  const { channel, urcs, answer } = await openMock(t)
  const p = channel.exec({ command: 'AT+CMGL=4', timeoutMs: 1000, pduBodies: true, infoPrefixes: ['+CMGL:'] })
  await answer(
    'AT+CMGL=4\r',
    '\r\n+CMGL: 0,0,,5\r\n0011223344AA\r\n+CMTI: "SM",3\r\n+CMGL: 1,1,,2\r\n\r\n+CMGL: 2,1,,1\r\n00FF\r\n\r\nOK\r\n',
  )
  t.same(await p, ['+CMGL: 0,0,,5', '0011223344AA', '+CMGL: 1,1,,2', '+CMGL: 2,1,,1', '00FF'])
  t.same(urcs, ['+CMTI: "SM",3'], 'a URC between entries is still a URC')
  t.same(
    parseCmgl(await p),
    [
      { index: 0, stat: 0, length: 5, pdu: '0011223344AA' },
      { index: 1, stat: 1, length: 2, pdu: null },
      { index: 2, stat: 1, length: 1, pdu: '00FF' },
    ],
    'a header without its body is reported as such',
  )
})

t.test('parsers', async (t) => {
  t.same(parseCmti('+CMTI: "SM",12'), { mem: 'SM', index: 12 })
  t.equal(parseCmti('+CMTI: "SM",x'), null)
  t.same(parseCmgr(['+CMGR: 1,,24', '0001000D91']), { stat: 1, length: 24, pdu: '0001000D91' })
  t.same(parseCmgr(['+CMGR: 0,"alpha, with comma",7', 'AABB']), { stat: 0, length: 7, pdu: 'AABB' })
  t.equal(parseCmgr(['+CMGR: x,,y', 'AA']), null)
  t.equal(parseCmgr([]), null)
})
