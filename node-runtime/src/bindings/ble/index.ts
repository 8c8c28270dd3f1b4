/** The box's BLE payment channel: binding interface, bleno binding, simulated binding. */
export {
  advertisedName,
  type BleBinding,
  type BleBindingOptions,
  BleError,
  type BleErrorCode,
  type BleSession,
  type BleSessionEnd,
  type BleSessionEndReason,
  type BleSessionHandler,
  type GattProfile,
  MAX_DEVICE_TAG_LENGTH,
} from './ble.js'
export { BlenoBleBinding, type BlenoBleBindingOptions, type BlenoLike } from './bleno-binding.js'
export { type SimAdvertisement, SimBleBinding, SimCentral, type SimConnectOptions } from './sim-binding.js'
