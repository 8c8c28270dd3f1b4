/** A box for confirmation tests: SimModem, SimGpio, a vault, a counter store, and a log that keeps entries. */
import { randomBytes } from 'node:crypto'
import { deriveKey, formatPaidSms, id8ToBytes, type PaidSms } from '@opg/protocol'
import { nodeBackend as c } from '@opg/protocol/node'
import type { Test } from 'tap'
import { SimGpio } from '../../src/bindings/gpio/index.js'
import { SimModem } from '../../src/bindings/modem/index.js'
import { type CounterStore, memoryCounterStore } from '../../src/confirm/counter-window.js'
import { type Confirmation, type NoticeJournal, PaidNotices } from '../../src/confirm/paid-notices.js'
import { MemoryVault } from '../../src/vault/memory-vault.js'

export { c }

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error'
  obj: Record<string, unknown>
  msg: string | undefined
}

/** A device identity: id, secret and the SMS key the bridge would derive. */
export function device(): { id: string; smsKey: Uint8Array } {
  const id = randomBytes(8).toString('hex')
  return { id, smsKey: deriveKey(c, randomBytes(16), 'sms', id8ToBytes(id)) }
}

/** The SMS the bridge would send. */
export function paidSms(dev: { id: string; smsKey: Uint8Array }, m: Partial<PaidSms> = {}): string {
  return formatPaidSms(c, dev.smsKey, dev.id, {
    ref: 'INV-1',
    amount: 25000,
    currency: 'INR',
    counter: 1,
    ...m,
  })
}

export interface Box {
  dev: { id: string; smsKey: Uint8Array }
  modem: SimModem
  gpio: SimGpio
  vault: NoticeJournal & { compact(now: number): Promise<unknown> }
  counters: CounterStore
  svc: PaidNotices
  log: LogEntry[]
  confirmed: Confirmation[]
  /** An SMS arrives at the modem; resolves once the service has handled it. */
  sms(text: string, from?: string): Promise<void>
  /** How many times the green LED was switched on. */
  greens(): number
  /** Stop the service and start a new one over the same vault and counter store (a reboot). */
  reboot(o?: { counters?: CounterStore }): Promise<PaidNotices>
}

export async function makeBox(
  t: Test,
  o: {
    dev?: { id: string; smsKey: Uint8Array }
    vault?: Box['vault']
    counters?: CounterStore
    windowSize?: number
  } = {},
): Promise<Box> {
  const dev = o.dev ?? device()
  const modem = new SimModem()
  const gpio = new SimGpio()
  const vault = o.vault ?? new MemoryVault({ retention: { maxAgeMs: 60_000 } })
  const log: LogEntry[] = []
  const logger = Object.fromEntries(
    (['debug', 'info', 'warn', 'error'] as const).map((level) => [
      level,
      (obj: object, msg?: string) => log.push({ level, obj: obj as Record<string, unknown>, msg }),
    ]),
  ) as unknown as Required<import('../../src/confirm/paid-notices.js').ConfirmLogger>
  const confirmed: Confirmation[] = []
  let now = 1_790_000_000_000
  const make = (counters: CounterStore) => {
    const svc = new PaidNotices({
      c,
      modem,
      gpio,
      vault,
      counters,
      deviceId: dev.id,
      smsKey: dev.smsKey,
      clock: { now: () => now++ },
      log: logger,
      ...(o.windowSize ? { windowSize: o.windowSize } : {}),
    })
    svc.onConfirmed((x) => confirmed.push(x))
    return svc
  }
  const box: Box = {
    dev,
    modem,
    gpio,
    vault,
    counters: o.counters ?? memoryCounterStore(),
    svc: undefined as unknown as PaidNotices,
    log,
    confirmed,
    async sms(text, from = '+15550000000') {
      modem.emitSms(from, text)
      await box.svc.idle()
    },
    greens: () => gpio.history.filter((w) => w.line === 'ledOk' && w.on).length,
    async reboot(r = {}) {
      await box.svc.stop()
      if (r.counters) box.counters = r.counters
      box.svc = make(box.counters)
      await box.svc.start()
      return box.svc
    },
  }
  box.svc = make(box.counters)
  await gpio.start()
  await box.svc.start()
  await modem.start()
  t.teardown(async () => {
    await box.svc.stop()
    await modem.stop()
    await gpio.stop()
  })
  return box
}
