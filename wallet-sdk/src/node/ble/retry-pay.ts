/** retryOverBle lives in the portable core (src/core/ble-pay.ts); re-exported here for the Node BLE entry. */
export { type BleRetryResult, retryOverBle } from '../../core/ble-pay.js'
