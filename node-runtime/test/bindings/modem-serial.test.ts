// SerialModem against the modem simulator over a socat pty pair and the real serialport native binding: the
// failure modes a field modem shows — slow answers, line noise, resets with and without RDY, going silent.
import { type PtyModemSim, startPtyModemSim } from '@opg/testkit/modem-sim/index.js'
import t, { type Test } from 'tap'
import {
  type ModemStatus,
  SerialModem,
  type SerialModemOptions,
  type SmsMessage,
} from '../../src/bindings/modem/index.js'

const fast: Omit<SerialModemOptions, 'path'> = {
  commandTimeoutMs: 1000,
  sendTimeoutMs: 1500,
  probeTimeoutMs: 300,
  healthCheckMs: 0,
  recoveryDelayMs: 200,
  resetWaitMs: 700,
  settleMs: 50,
}

async function setup(
  t: Test,
  opts: Partial<SerialModemOptions> = {},
): Promise<{ sim: PtyModemSim; modem: SerialModem; statuses: ModemStatus[]; errors: unknown[] }> {
  const sim = await startPtyModemSim()
  const errors: unknown[] = []
  const modem = new SerialModem({ path: sim.devicePath, ...fast, onError: (e) => errors.push(e), ...opts })
  const statuses: ModemStatus[] = []
  const off = modem.onStatus((s) => statuses.push(s))
  t.teardown(async () => {
    off()
    await modem.stop()
    await sim.stop()
  })
  return { sim, modem, statuses, errors }
}

function nextSms(modem: SerialModem, ms = 5000): Promise<SmsMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off()
      reject(new Error('no SMS event'))
    }, ms)
    const off = modem.onSms((m) => {
      clearTimeout(timer)
      off()
      resolve(m)
    })
  })
}

function until(modem: SerialModem, status: ModemStatus, ms = 8000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off()
      reject(new Error(`status ${status} not reached`))
    }, ms)
    const off = modem.onStatus((s) => {
      if (s !== status) return
      clearTimeout(timer)
      off()
      resolve()
    })
  })
}

t.test('configures the modem for PDU-mode SMS with new-message indications', async (t) => {
  const { sim, modem } = await setup(t)
  await modem.start()
  for (const c of ['ATE0', 'AT+CMGF=0', 'AT+CNMI=2,1,0,0,0', 'AT+CMGL=4'])
    t.ok(sim.modem.commands.includes(c), c)
  t.notOk(
    sim.modem.commands.some((c) => c.startsWith('AT+CMGF=1')),
    'never text mode',
  )
})

t.test('reads then deletes each new message, so the SIM does not fill up', async (t) => {
  const { sim, modem } = await setup(t)
  await modem.start()
  for (const text of ['one', 'two', 'three']) {
    const got = nextSms(modem)
    sim.modem.deliverSms('+4930123456', text)
    t.equal((await got).text, text)
  }
  await modem.registration() // queued behind the deletes
  t.same(sim.modem.stored(), [])
})

t.test('works with a slow modem and line noise between answers', async (t) => {
  const { sim, modem } = await setup(t)
  sim.modem.delayMs = 250
  sim.modem.garbageBeforeEachAnswer = true
  await modem.start()
  sim.modem.injectGarbage()
  t.equal(await modem.registration(), 'home')
  const got = nextSms(modem)
  sim.modem.deliverSms('+4930123456', 'through the noise')
  t.equal((await got).text, 'through the noise')
  t.equal(await modem.sendSms('+4930123456', 'reply'), 1)
  t.ok(modem.garbageLines > 0, 'noise was seen and dropped')
})

t.test('a modem that resets mid-session is configured again and misses no message', async (t) => {
  const { sim, modem } = await setup(t)
  await modem.start()
  const cnmiBefore = sim.modem.commands.filter((c) => c.startsWith('AT+CNMI')).length
  const got: string[] = []
  modem.onSms((m) => {
    got.push(m.text)
  })
  sim.modem.reset(200)
  // Arrives while the modem is rebooting with indications off: only the sweep after re-init finds it.
  sim.modem.deliverSms('+4930123456', 'during reset')
  await until(modem, 'ready')
  t.equal(sim.modem.commands.filter((c) => c.startsWith('AT+CNMI')).length, cnmiBefore + 1)
  const after = nextSms(modem)
  sim.modem.deliverSms('+4930123456', 'after reset')
  await after
  t.same(got, ['during reset', 'after reset'])
})

t.test('a silent loss of settings (echo is back) triggers a re-init', async (t) => {
  const { sim, modem } = await setup(t)
  await modem.start()
  sim.modem.brownout()
  t.equal(await modem.registration(), 'home')
  await until(modem, 'ready')
  const got = nextSms(modem)
  sim.modem.deliverSms('+4930123456', 'after brownout')
  t.equal((await got).text, 'after brownout')
})

t.test('a send cut short by a reset fails with a ModemError; the next one goes out', async (t) => {
  const { sim, modem } = await setup(t)
  await modem.start()
  sim.modem.delayMs = 300
  const first = modem.sendSms('+4930123456', 'lost')
  setTimeout(() => sim.modem.reset(100), 50)
  await t.rejects(first, { name: 'ModemError' })
  sim.modem.delayMs = 0
  await modem.sendSms('+4930123456', 'kept')
  t.same(
    sim.modem.sent.map((s) => s.text),
    ['kept'],
  )
})

t.test('recovers from a modem that stops answering', async (t) => {
  const { sim, modem, statuses } = await setup(t)
  await modem.start()
  sim.modem.mute(true)
  await t.rejects(modem.signalQuality(), { code: 'TIMEOUT' })
  t.ok(statuses.includes('recovering'))
  // Recovery rounds keep failing while it is silent; the text arrives meanwhile and waits on the SIM.
  sim.modem.deliverSms('+4930123456', 'while silent')
  const got = nextSms(modem, 10_000)
  const ready = until(modem, 'ready', 10_000)
  setTimeout(() => sim.modem.mute(false), 1500)
  await ready
  t.equal((await got).text, 'while silent')
  t.same(await modem.signalQuality(), { rssi: 20, dbm: -73, bars: 4 })
})

t.test('a SIM still busy at start is retried until the modem can be configured', async (t) => {
  const { sim, modem, errors } = await setup(t)
  sim.modem.failNext('AT+CMGF', '+CME ERROR: 14', 2)
  const ready = until(modem, 'ready')
  await modem.start()
  await ready
  t.match(errors, [{ code: 'AT_ERROR' }, { code: 'AT_ERROR' }])
  t.equal(sim.modem.resets, 0, 'an answering modem is not reset')
  t.equal(await modem.sendSms('+4930123456', 'configured'), 1)
})

t.test('aborting the start signal stops the modem', async (t) => {
  const { modem, statuses } = await setup(t)
  const ac = new AbortController()
  await modem.start(ac.signal)
  ac.abort()
  await until(modem, 'stopped', 2000).catch(() => {})
  t.equal(statuses.at(-1), 'stopped')
  await t.rejects(modem.registration(), { code: 'NOT_STARTED' })
})

t.test('start fails cleanly when the device does not exist', async (t) => {
  const modem = new SerialModem({ path: '/dev/opg-no-such-modem', ...fast })
  await t.rejects(modem.start(), { code: 'PORT_ERROR' })
  await t.rejects(modem.registration(), { code: 'NOT_STARTED' })
})

t.test('a message leaves the SIM only after its listeners have taken it', async (t) => {
  const { sim, modem } = await setup(t)
  await modem.start()
  let release!: () => void
  const stored = new Promise<void>((r) => {
    release = r
  })
  const seen: string[] = []
  modem.onSms(async (m) => {
    seen.push(m.text)
    if (m.text === 'slow') await stored
    if (m.text === 'refused') throw new Error('storage failed')
  })
  sim.modem.deliverSms('+4930123456', 'slow')
  while (seen.length === 0) await new Promise((r) => setTimeout(r, 10))
  await new Promise((r) => setTimeout(r, 150))
  t.same(
    sim.modem.stored().map((m) => m.text),
    ['slow'],
    'still on the SIM while the listener is storing it',
  )
  release()
  await modem.registration() // queued behind the delete
  t.same(sim.modem.stored(), [], 'deleted once stored')

  sim.modem.deliverSms('+4930123456', 'refused')
  while (seen.length < 2) await new Promise((r) => setTimeout(r, 10))
  await modem.registration()
  t.same(
    sim.modem.stored().map((m) => m.text),
    ['refused'],
    'a listener that failed leaves the message for the next sweep',
  )
})
