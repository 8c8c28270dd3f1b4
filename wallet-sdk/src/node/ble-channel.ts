/**
 * `pay --ble` on Node: a BleMessageChannel over the noble GattClient in ./ble/, connecting to the box whose
 * device tag is on the sticker. The client is started on open and released on close, so one CLI payment
 * leaves no adapter handle behind. Other apps pass their own GattClient (or any BleMessageChannel).
 */
import { deviceTag } from '@opg/protocol'
import type { BleMessageChannel } from '../core/ble-pay.js'
import type { MerchantTarget } from '../core/sticker.js'
import { type GattClient, gattChannel, NobleGattClient } from './ble/index.js'

/** Options of openBleChannel. */
export interface BleChannelOptions {
  /** Scan + connect + session setup, ms (default 10 s). */
  timeoutMs?: number
  /** Per-message wait, ms (default 10 s). */
  receiveTimeoutMs?: number
  /** A GattClient to use instead of noble (tests: over the virtual HCI). It is started and stopped here. */
  client?: GattClient
}

/** A channel to the box named by `target`; nothing touches the radio until `open()`. */
export function openBleChannel(target: MerchantTarget, o: BleChannelOptions = {}): BleMessageChannel {
  const client = o.client ?? new NobleGattClient()
  const inner = gattChannel(client, deviceTag(target.deviceId), {
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    ...(o.receiveTimeoutMs !== undefined ? { receiveTimeoutMs: o.receiveTimeoutMs } : {}),
  })
  return {
    async open() {
      await client.start()
      await inner.open()
    },
    send: (m) => inner.send(m),
    receive: () => inner.receive(),
    async close() {
      try {
        await inner.close()
      } finally {
        await client.stop()
      }
    },
  }
}
