/**
 * @opg/cloud-bridge: the bridge's public surface — the composition root, config, the HTTP API factory and
 * the fleet hooks other packages (e2e, demos) use.
 */

export { type ApiApp, type ApiDeps, createApi } from './api/app.js'
export { BridgeError, type BridgeErrorCode, isBridgeError } from './api/errors.js'
export { HttpServer, type HttpServerOptions } from './api/http-server.js'
export { authenticate, createApiKey, type Principal, type Role } from './auth/api-keys.js'
export { Bridge, type BridgeEndpoints, type BridgeOptions } from './bridge.js'
export { runCli } from './cli.js'
export { type Config, ConfigError, ConfigSchema, loadConfig, redactConfig } from './config.js'
export { deviceSecret, deviceSecretAad, recordDeviceStatus } from './fleet/devices.js'
export { EmbeddedBroker } from './fleet/embedded-broker.js'
export { loadMasterKey } from './issuer/master-key.js'
export { createLogger } from './logger.js'
export { createTenant } from './tenants/tenants.js'
