/**
 * Hardware bindings of the merchant box. Each device has a small interface with a real and a simulated
 * implementation; domain code receives them through its constructor.
 *
 * The BLE binding lives in ./ble/ and is maintained separately; import it from './ble/index.js'.
 */
export * from './camera/index.js'
export * from './gpio/index.js'
export * from './modem/index.js'
