/** Config of the merchant box: schema, loading with migrations and environment, provisioned secrets. */

export {
  applyEnv,
  ConfigError,
  type ConfigErrorCode,
  ENV_PREFIX,
  type LoadedConfig,
  loadConfigFile,
  parseConfig,
} from './load.js'
export { type ConfigMigration, MIGRATIONS, migrateConfig } from './migrations.js'
export { CONFIG_VERSION, ConfigSchema, type NodeConfig, type NodeConfigInput } from './schema.js'
export { decodeKeyFile, loadSecrets, type NodeSecrets, redactConfig, Secret } from './secrets.js'
