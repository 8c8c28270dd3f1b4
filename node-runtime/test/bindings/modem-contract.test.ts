// One contract for every Modem: the in-memory SimModem, SerialModem on serialport's mock binding, and
// SerialModem on the real serialport native binding over a socat pty pair — the last two talking to the
// testkit modem simulator, so the whole AT dialogue runs.
import { AtResponder, linkMockPort, startPtyModemSim } from '@opg/testkit/modem-sim/index.js'
import { SerialPortMock } from 'serialport'
import t from 'tap'
import {
  type Modem,
  ModemError,
  SerialModem,
  type SerialModemOptions,
  SimModem,
  type SmsMessage,
} from '../../src/bindings/modem/index.js'

interface Target {
  modem: Modem
  injectSms(from: string, text: string, at: Date): void
  sent(): { to: string; text: string }[]
  setSignal(rssi: number): void
  close(): Promise<void>
}

const fast: Omit<SerialModemOptions, 'path'> = {
  commandTimeoutMs: 1500,
  probeTimeoutMs: 300,
  healthCheckMs: 0,
  recoveryDelayMs: 200,
  resetWaitMs: 2000,
  settleMs: 50,
}

const targets: Record<string, () => Promise<Target>> = {
  sim: async () => {
    const modem = new SimModem()
    return {
      modem,
      injectSms: (from, text, at) => modem.emitSms(from, text, at),
      sent: () => modem.sent,
      setSignal: (rssi) => modem.setSignal(rssi),
      close: () => modem.stop(),
    }
  },
  'serial/mock-binding': async () => {
    const path = `/dev/mock-modem-${Math.random().toString(16).slice(2)}`
    SerialPortMock.binding.createPort(path)
    const sim = new AtResponder()
    const modem = new SerialModem({
      path,
      ...fast,
      openPort: (p, baudRate) => {
        const port = new SerialPortMock({ path: p, baudRate, autoOpen: false })
        port.once('open', () => linkMockPort(port.port!, sim))
        return port
      },
    })
    return {
      modem,
      injectSms: (from, text, at) => sim.deliverSms(from, text, at),
      sent: () => sim.sent,
      setSignal: (rssi) => sim.setSignal(rssi),
      close: async () => {
        await modem.stop()
        sim.stop()
      },
    }
  },
  'serial/pty': async () => {
    const sim = await startPtyModemSim()
    const modem = new SerialModem({ path: sim.devicePath, ...fast })
    return {
      modem,
      injectSms: (from, text, at) => sim.modem.deliverSms(from, text, at),
      sent: () => sim.modem.sent,
      setSignal: (rssi) => sim.modem.setSignal(rssi),
      close: async () => {
        await modem.stop()
        await sim.stop()
      },
    }
  },
}

function nextSms(modem: Modem, ms = 4000): Promise<SmsMessage> {
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

const at = new Date('2026-11-27T10:15:30Z')

for (const [name, make] of Object.entries(targets)) {
  t.test(`modem contract: ${name}`, async (t) => {
    t.test('reports registration and signal quality', async (t) => {
      const x = await make()
      t.teardown(() => x.close())
      await x.modem.start()
      t.equal(await x.modem.registration(), 'home')
      x.setSignal(25)
      t.same(await x.modem.signalQuality(), { rssi: 25, dbm: -63, bars: 4 })
      x.setSignal(5)
      t.same(await x.modem.signalQuality(), { rssi: 5, dbm: -103, bars: 1 })
      x.setSignal(99)
      t.same(await x.modem.signalQuality(), { rssi: 99, dbm: null, bars: 0 })
    })

    t.test('delivers an incoming SMS as an event', async (t) => {
      const x = await make()
      t.teardown(() => x.close())
      await x.modem.start()
      const got = nextSms(x.modem)
      x.injectSms('+4915112345678', 'OPG1 PAID 0123456789abcdef 1250 EUR\nthanks', at)
      const m = await got
      t.equal(m.from, '+4915112345678')
      t.equal(m.text, 'OPG1 PAID 0123456789abcdef 1250 EUR\nthanks')
      t.equal(m.receivedAt.toISOString(), at.toISOString())
    })

    t.test('delivers texts whose lines read like modem output, and UCS-2, verbatim', async (t) => {
      const x = await make()
      t.teardown(() => x.close())
      await x.modem.start()
      for (const text of [
        'paid\nOK\nERROR\n+CMS ERROR: 500\nNO CARRIER',
        'RDY\n+CMTI: "SM",9\nRING',
        'Grüße 😀 ₹',
      ]) {
        const got = nextSms(x.modem)
        x.injectSms('+4915112345678', text, at)
        t.equal((await got).text, text)
      }
      t.equal(await x.modem.registration(), 'home', 'the modem still answers')
    })

    t.test('delivers messages that arrived while stopped at the next start', async (t) => {
      const x = await make()
      t.teardown(() => x.close())
      x.injectSms('+111222333', 'first', at)
      x.injectSms('+111222333', 'second', at)
      const got: string[] = []
      const off = x.modem.onSms((m) => {
        got.push(m.text)
      })
      t.teardown(off)
      await x.modem.start()
      // Sweeps are part of start for SerialModem; give the event loop a turn for any straggler.
      await new Promise((r) => setTimeout(r, 50))
      t.same(got.sort(), ['first', 'second'])
    })

    t.test('sends SMS and returns distinct message references', async (t) => {
      const x = await make()
      t.teardown(() => x.close())
      await x.modem.start()
      const a = await x.modem.sendSms('+4915112345678', 'OPG1 PAID abc')
      const b = await x.modem.sendSms('4915112345679', 'second one')
      t.not(a, b)
      t.same(
        x.sent().map((s) => [s.to, s.text]),
        [
          ['+4915112345678', 'OPG1 PAID abc'],
          ['4915112345679', 'second one'],
        ],
      )
    })

    t.test('refuses what a single text-mode SMS cannot carry', async (t) => {
      const x = await make()
      t.teardown(() => x.close())
      await x.modem.start()
      await t.rejects(x.modem.sendSms('call me', 'hi'), { code: 'INVALID_NUMBER' })
      await t.rejects(x.modem.sendSms('+123456', 'x'.repeat(161)), { code: 'INVALID_TEXT' })
      await t.rejects(x.modem.sendSms('+123456', 'caf\u00e9'), { code: 'INVALID_TEXT' })
      await t.rejects(x.modem.sendSms('+123456', '[]'.repeat(41)), { code: 'INVALID_TEXT' })
      t.same(x.sent(), [])
      await x.modem.sendSms('+123456', 'x'.repeat(160))
      t.equal(x.sent().length, 1)
    })

    t.test('rejects use after stop', async (t) => {
      const x = await make()
      t.teardown(() => x.close())
      await x.modem.start()
      await x.modem.stop()
      const err = await x.modem.signalQuality().catch((e: unknown) => e)
      t.ok(err instanceof ModemError)
      t.equal((err as ModemError).code, 'NOT_STARTED')
    })
  })
}
