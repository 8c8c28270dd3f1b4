/** Options of `SerialModem` and their defaults, which suit a SIM7600/Quectel modem on a Raspberry Pi. */
import { lazyModule } from '../lazy-module.js'
import type { SerialPortLike } from './at-channel.js'
import type { DiscardedSms } from './sms-inbox.js'

/** Options of `SerialModem`. */
export interface SerialModemOptions {
  /** Device path, e.g. /dev/ttyUSB2 (SIM7600 AT port) or a udev symlink. */
  path: string
  baudRate?: number
  /** Makes an unopened port; tests pass serialport's `SerialPortMock`. Default: `new SerialPort(…)`. */
  openPort?: (path: string, baudRate: number) => SerialPortLike
  /** Timeout of ordinary commands (default 5 s). */
  commandTimeoutMs?: number
  /** Timeout of AT+CMGS, which waits for the network (default 60 s). */
  sendTimeoutMs?: number
  /** Timeout of the recovery probe `AT` (default 1 s). */
  probeTimeoutMs?: number
  /** Period of the health check that notices a silent modem (default 30 s; 0 disables). */
  healthCheckMs?: number
  /** Pause between failed recovery rounds (default 5 s). */
  recoveryDelayMs?: number
  /** How long to wait for RDY after AT+CFUN=1,1 (default 20 s). */
  resetWaitMs?: number
  /** Quiet time after a reset indication before re-initialising (default 200 ms). */
  settleMs?: number
  /** Tries to read and decode a message before it is reported and deleted (default 3). */
  maxReadAttempts?: number
  /** How long the parts of a concatenated SMS wait for the rest before they are reported and deleted (1 h). */
  partTimeoutMs?: number
  /** Pause before the next SIM sweep after one failed (default 60 s). */
  sweepRetryMs?: number
  /** Receives errors that have no caller to go to (background reads, recovery, discarded messages). */
  onError?: (err: unknown) => void
  /** Receives each message given up on and deleted (also passed to `onError` as `UNREADABLE_SMS`). */
  onDiscard?: (d: DiscardedSms) => void
  /** Clock for `receivedAt` when the network gave no timestamp. */
  now?: () => Date
}

/** The options with every default filled in. */
export type ResolvedOptions = Required<Omit<SerialModemOptions, 'onError' | 'onDiscard'>> &
  Pick<SerialModemOptions, 'onError' | 'onDiscard'>

const serialport = lazyModule<typeof import('serialport')>('serialport')

export function resolveOptions(options: SerialModemOptions): ResolvedOptions {
  return {
    baudRate: 115200,
    // serialport (and its native binding) is loaded only when a real port is opened: ~15 MB of RSS that a box
    // without a modem, or in simulation, does not need.
    openPort: (path, baudRate) => new (serialport().SerialPort)({ path, baudRate, autoOpen: false }),
    commandTimeoutMs: 5000,
    sendTimeoutMs: 60_000,
    probeTimeoutMs: 1000,
    healthCheckMs: 30_000,
    recoveryDelayMs: 5000,
    resetWaitMs: 20_000,
    settleMs: 200,
    maxReadAttempts: 3,
    partTimeoutMs: 3_600_000,
    sweepRetryMs: 60_000,
    now: () => new Date(),
    ...options,
  }
}
