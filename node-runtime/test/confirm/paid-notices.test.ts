// Payment confirmations on the box (case 3) over SimModem, SimGpio and the in-memory vault: what is recorded
// and lit, what is refused and logged, and that refusals survive a reboot.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { memoryCounterStore, stateCounterStore } from '../../src/confirm/counter-window.js'
import { PaidNotices } from '../../src/confirm/paid-notices.js'
import { FileVault } from '../../src/vault/file-vault.js'
import { MemoryVault } from '../../src/vault/memory-vault.js'
import { openStateStore } from '../../src/vault/state-store.js'
import type { NoticeRecord, PaymentRecord } from '../../src/vault/types.js'
import { type Box, c, device, makeBox, paidSms } from './rig.js'

function refusedNothing(t: Test, box: Box, code: string, label: string) {
  t.equal(box.vault.notices().length, 0, `${label}: nothing recorded`)
  t.equal(box.greens(), 0, `${label}: no green LED`)
  t.same(box.confirmed, [], `${label}: no confirmation event`)
  const warn = box.log.find((e) => e.level === 'warn')
  t.ok(warn, `${label}: logged at warn`)
  t.equal(warn?.obj.code, code, `${label}: logged with code ${code}`)
}

t.test('an authentic SMS is recorded, then signalled green with a beep', async (t) => {
  const box = await makeBox(t)
  await box.sms(`${paidSms(box.dev, { ref: 'INV-7', amount: 12345, counter: 1 })}\r\n`)
  const [n] = box.vault.notices()
  t.match(n, { ref: 'INV-7', amount: 12345, currency: 'INR', counter: 1, via: 'sms' })
  t.equal(box.greens(), 1, 'green LED')
  t.ok(
    box.gpio.history.some((w) => w.line === 'buzzer' && w.on),
    'beep',
  )
  t.match(box.confirmed, [{ ref: 'INV-7', amount: 12345 }])
  t.match(box.svc.recent(), [{ ref: 'INV-7' }], 'listed for status')
  t.same(
    box.log.filter((e) => e.level === 'warn'),
    [],
    'no warning',
  )
})

t.test('the notice is durable before the LED turns green', async (t) => {
  let release!: () => void
  const held = new Promise<void>((r) => (release = r))
  class SlowVault extends MemoryVault {
    override async append(rec: PaymentRecord | NoticeRecord): Promise<void> {
      await held
      await super.append(rec)
    }
  }
  const box = await makeBox(t, { vault: new SlowVault() })
  box.modem.emitSms('+15550000000', paidSms(box.dev))
  await new Promise((r) => setTimeout(r, 50))
  t.equal(box.greens(), 0, 'dark while the write is in flight')
  t.same(box.confirmed, [])
  release()
  await box.svc.idle()
  t.equal(box.greens(), 1)
  t.equal(box.vault.notices().length, 1)
})

t.test('forged, edited, truncated and foreign SMS are refused and logged', async (t) => {
  const cases: [string, (b: Box) => string, string][] = [
    ['forged tag', (b) => paidSms(b.dev).replace(/[0-9A-F]{16}$/, '0123456789ABCDEF'), 'bad_tag'],
    ['edited amount', (b) => paidSms(b.dev, { amount: 100 }).replace(' 100 ', ' 100000 '), 'bad_tag'],
    ['edited reference', (b) => paidSms(b.dev, { ref: 'INV-1' }).replace('INV-1', 'INV-2'), 'bad_tag'],
    ['truncated tag', (b) => paidSms(b.dev).slice(0, -3), 'bad_encoding'],
    ['truncated after the amount', (b) => paidSms(b.dev).split(' ').slice(0, 4).join(' '), 'bad_encoding'],
    ['cut in the keyword', () => 'OPG1 PA', 'bad_prefix'],
    ['another device’s SMS', () => paidSms(device(), { counter: 1 }), 'bad_tag'],
    [
      'lower-case tag',
      (b) => paidSms(b.dev).replace(/[0-9A-F]{16}$/, (m) => m.toLowerCase()),
      'bad_encoding',
    ],
  ]
  for (const [label, make, code] of cases) {
    await t.test(label, async (t) => {
      const box = await makeBox(t)
      await box.sms(make(box))
      refusedNothing(t, box, code, label)
      t.match(box.svc.report(), { refused: 1, lastRefusal: { code, via: 'sms' } })
    })
  }
})

t.test('ordinary SMS are ignored quietly', async (t) => {
  const box = await makeBox(t)
  await box.sms('Your balance is 12.00. Top up at *123#', 'OPERATOR')
  t.equal(box.vault.notices().length, 0)
  t.equal(box.greens(), 0)
  t.same(
    box.log.map((e) => e.level),
    ['debug'],
    'one debug line, no warning',
  )
})

t.test('a replayed SMS is refused, also after a reboot and after the vault compacted it away', async (t) => {
  const box = await makeBox(t)
  const text = paidSms(box.dev, { counter: 5 })
  await box.sms(text)
  await box.sms(text)
  t.equal(box.vault.notices().length, 1, 'recorded once')
  t.equal(box.greens(), 1, 'signalled once')
  t.match(
    box.log.filter((e) => e.level === 'warn'),
    [{ obj: { code: 'replay', counter: 5, window: 'seen' } }],
  )

  await box.reboot()
  await box.sms(text)
  t.equal(box.vault.notices().length, 1, 'still once after a reboot')

  // Retention is 60 s in the rig: compaction forgets the notice, the counter window does not.
  await box.vault.compact(Date.now() + 3_600_000)
  t.equal(box.vault.notices().length, 0, 'the vault no longer holds it')
  await box.reboot()
  await box.sms(text)
  t.equal(box.vault.notices().length, 0, 'not recorded again')
  t.equal(box.greens(), 1, 'never signalled again')
  t.equal(box.log.filter((e) => e.obj.code === 'replay').length, 3)
})

t.test('a window lost between two writes is rebuilt from the vault at start', async (t) => {
  const box = await makeBox(t)
  const text = paidSms(box.dev, { counter: 2 })
  await box.sms(text)
  const fresh = memoryCounterStore()
  await box.reboot({ counters: fresh })
  t.match(fresh.saved, { high: 2 }, 'the window is saved again from the journal')
  await box.sms(text)
  t.equal(box.vault.notices().length, 1)
  t.equal(box.greens(), 1)
})

t.test('counters may arrive out of order; below the window they are refused', async (t) => {
  const box = await makeBox(t, { windowSize: 4 })
  for (const [ref, counter] of [
    ['INV-3', 3],
    ['INV-1', 1],
    ['INV-2', 2],
    ['INV-10', 10],
  ] as const) {
    await box.sms(paidSms(box.dev, { ref, counter }))
  }
  t.same(
    box.vault
      .notices()
      .map((n) => n.counter)
      .sort((a, b) => a - b),
    [1, 2, 3, 10],
  )
  await box.sms(paidSms(box.dev, { ref: 'INV-6', counter: 6 }))
  t.equal(box.vault.notices().length, 4, 'counter 6 ≤ 10 − 4 cannot be told from a replay')
  t.match(box.log.at(-1), { level: 'warn', obj: { code: 'replay', window: 'too_old' } })
  await box.sms(paidSms(box.dev, { ref: 'INV-7', counter: 7 }))
  t.equal(box.vault.notices().length, 5, 'counter 7 is inside the window and new')
})

t.test('one notice by MQTT and by SMS is recorded once', async (t) => {
  const box = await makeBox(t)
  const m = { ref: 'INV-9', amount: 990, currency: 'INR', counter: 4 }
  const [a, b] = await Promise.all([
    box.svc.handleCommand(m),
    (async () => {
      box.modem.emitSms('+15550000000', paidSms(box.dev, m))
      await box.svc.idle()
    })(),
  ])
  t.equal(a.status, 'confirmed')
  t.equal(b, undefined)
  t.match(box.vault.notices(), [{ ref: 'INV-9', via: 'mqtt', counter: 4 }])
  t.equal(box.greens(), 1)
  t.match(await box.svc.handleCommand(m), { status: 'refused', code: 'replay' })
  t.match(await box.svc.handleCommand({ ...m, counter: 5, amount: -1 }), {
    status: 'refused',
    code: 'bad_field',
  })
  t.equal(box.vault.notices().length, 1)
})

t.test('messages swept off the SIM at modem start are handled', async (t) => {
  const box = await makeBox(t)
  await box.modem.stop()
  await box.svc.stop()
  box.modem.emitSms('+15550000000', paidSms(box.dev, { counter: 8 }))
  await box.svc.start()
  await box.modem.start()
  await box.svc.idle()
  t.match(box.vault.notices(), [{ counter: 8 }])
})

t.test(
  'on the file vault and the encrypted state store, a replay is refused after a real restart',
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'opg-confirm-'))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    const key = new Uint8Array(16).fill(7)
    const dev = device()
    const open = async () => {
      const vault = await FileVault.open({ dir: join(dir, 'vault'), key })
      const state = await openStateStore<{ version: 1; [k: string]: unknown }>({
        dir,
        key,
        defaults: { version: 1 },
      })
      return { vault, counters: stateCounterStore(state) }
    }
    const text = paidSms(dev, { counter: 3 })
    const first = await open()
    const box = await makeBox(t, { dev, ...first })
    await box.sms(text)
    await box.svc.stop()
    await first.vault.close()

    const second = await open()
    t.teardown(() => second.vault.close())
    t.match(await second.counters.load(), { high: 3, seen: [3] }, 'window on disk')
    t.match(second.vault.notices(), [{ counter: 3, via: 'sms' }], 'notice on disk')
    const again = await makeBox(t, { dev, ...second })
    await again.sms(text)
    t.equal(second.vault.notices().length, 1)
    t.equal(again.greens(), 0)
    t.match(again.log.at(-1), { level: 'warn', obj: { code: 'replay' } })
  },
)

t.test('without GPIO the node’s signal port is told, after the record', async (t) => {
  const dev = device()
  const vault = new MemoryVault()
  const seen: { txId: string; amount: number; currency: string; stored: number }[] = []
  const svc = new PaidNotices({
    c,
    vault,
    counters: memoryCounterStore(),
    deviceId: dev.id,
    smsKey: dev.smsKey,
    clock: { now: () => 1_790_000_000_000 },
    signal: { accepted: (i) => void seen.push({ ...i, stored: vault.notices().length }) },
  })
  await svc.start()
  t.teardown(() => svc.stop())
  const out = await svc.handleSms({ from: '+15550000000', text: paidSms(dev, { ref: 'INV-5', amount: 700 }) })
  t.equal(out.status, 'confirmed')
  t.same(seen, [{ txId: 'INV-5', amount: 700, currency: 'INR', stored: 1 }], 'with its currency, for display')
  t.match(await svc.handleSms({ from: 'x', text: paidSms(device()) }), { status: 'refused', code: 'bad_tag' })
  t.equal(seen.length, 1)
})
