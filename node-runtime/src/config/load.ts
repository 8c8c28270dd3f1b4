/**
 * Loading config: file → migrations → environment overlay → one zod validation that reports every problem
 * at once, as a ConfigError listing each path and message.
 */
import { readFile } from 'node:fs/promises'
import { migrateConfig } from './migrations.js'
import { CONFIG_VERSION, ConfigSchema, type NodeConfig } from './schema.js'

/** Stable codes for config failures. */
export type ConfigErrorCode = 'config_unreadable' | 'config_invalid' | 'keys_missing' | 'keys_invalid'

/** A config or key-file problem; `problems` lists every issue found, not just the first. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  readonly code: ConfigErrorCode
  readonly problems: string[]
  constructor(code: ConfigErrorCode, problems: string[], options?: { cause?: unknown }) {
    super(`${code}: ${problems.join('; ')}`, options)
    this.code = code
    this.problems = problems
  }
}

/** Environment variables read: `OPG_` + the config path in SCREAMING_SNAKE, `__` between levels. */
export const ENV_PREFIX = 'OPG_'

export interface LoadedConfig {
  config: NodeConfig
  /** Migrations applied to the file's contents, oldest first (for the start-up log). */
  migrations: string[]
}

/** Read, migrate, overlay and validate a config file. Throws ConfigError. */
export async function loadConfigFile(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LoadedConfig> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new ConfigError('config_unreadable', [`cannot read ${path}`], { cause: err })
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    throw new ConfigError('config_unreadable', [`${path} is not valid JSON`], { cause: err })
  }
  return parseConfig(raw, env)
}

/** Migrate, overlay the environment and validate an already-parsed config object. Throws ConfigError. */
export function parseConfig(raw: unknown, env: NodeJS.ProcessEnv = {}): LoadedConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError('config_invalid', ['config must be a JSON object'])
  }
  const obj = { ...(raw as Record<string, unknown>) }
  if (obj.version === undefined) obj.version = CONFIG_VERSION
  const { raw: migrated, applied } = migrateConfig(obj, CONFIG_VERSION)
  const merged = applyEnv(migrated, env)
  const result = ConfigSchema.safeParse(merged)
  if (!result.success) {
    const problems = result.error.issues.map(
      (i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`,
    )
    throw new ConfigError('config_invalid', problems)
  }
  return { config: result.data, migrations: applied }
}

/**
 * Overlay `OPG_*` variables: `OPG_MQTT__URL=…` sets mqtt.url, `OPG_EXPOSURE__MAX_UNSYNCED_TOTAL=…` sets
 * exposure.maxUnsyncedTotal. Values that parse as JSON (numbers, booleans, objects) are taken as such.
 */
export function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out = structuredClone(raw)
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue
    const path = name
      .slice(ENV_PREFIX.length)
      .split('__')
      .map((part) => part.toLowerCase().replace(/_([a-z0-9])/g, (_, ch: string) => ch.toUpperCase()))
    if (path.some((p) => p.length === 0 || p === '__proto__' || p === 'constructor' || p === 'prototype'))
      continue
    let target: Record<string, unknown> = out
    for (const key of path.slice(0, -1)) {
      const next = target[key]
      if (typeof next !== 'object' || next === null || Array.isArray(next)) target[key] = {}
      target = target[key] as Record<string, unknown>
    }
    const leaf = path[path.length - 1]!
    target[leaf] = STRING_LEAF.test(leaf) ? value : parseEnvValue(value)
  }
  return out
}

/** Ids, paths and urls stay strings even when they look like numbers (`OPG_TENANT_ID=0011223344556677`). */
const STRING_LEAF = /(Id|File|Dir|Path|Url)$/

function parseEnvValue(value: string): unknown {
  try {
    return JSON.parse(value)
  } catch {
    return value
  }
}
