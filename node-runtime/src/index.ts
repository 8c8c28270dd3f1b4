/**
 * @opg/node-runtime — the merchant box: config, offline acceptance, the vault, trusted time, MQTT sync,
 * hardware bindings and the assembled node behind the `opg-node` command.
 */
export * from './accept/index.js'
export * as ble from './bindings/ble/index.js'
export * as camera from './bindings/camera/index.js'
export * as gpio from './bindings/gpio/index.js'
export * as modem from './bindings/modem/index.js'
export { type CliIo, EXIT, runCli } from './cli/main.js'
export * from './clock/index.js'
export * from './config/index.js'
export * from './confirm/index.js'
export * from './confirm/index.js'
export * from './node/index.js'
export * from './sync/index.js'
export * from './vault/index.js'
