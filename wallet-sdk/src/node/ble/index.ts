/** The wallet's BLE payment channel on Node: GattClient interface, noble client, BleMessageChannel adapter. */
export {
  type ConnectOptions,
  type GattClient,
  GattError,
  type GattErrorCode,
  type GattSession,
  gattChannel,
} from './gatt-client.js'
export { NobleGattClient, type NobleGattClientOptions, type NobleLike } from './noble-gatt-client.js'
export { type NobleCharacteristic, NobleGattSession, type NoblePeripheral } from './noble-session.js'
export { type BleRetryResult, retryOverBle } from './retry-pay.js'
