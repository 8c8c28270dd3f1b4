/**
 * What the `opg-bridge` subcommands share: configuration (read only when a command needs it, so `--help`
 * works without any), the database for the admin commands, an API client for the operator commands, and
 * output helpers. Admin commands (start, migrate, issuer, tenant, payouts) run where the database is;
 * operator commands (fleet, payments, holds, claims, refused, sms, tenants, keys) talk to a running bridge's
 * HTTP API with an operator key and never touch the database.
 */
import type { Writable } from 'node:stream'
import { type CliOutput, CliUsageError } from '@opg/protocol/cli'
import { type Config, loadConfig } from '../config.js'
import { migrate } from '../db/migrate.js'
import { openDb } from '../db/open.js'
import type { Db } from '../db/types.js'
import { findTenantByName, getTenant, type Tenant } from '../tenants/tenants.js'

/** Where the CLI reads and writes; tests pass their own. */
export interface CliIo {
  env: NodeJS.ProcessEnv
  stdout: Writable
  stderr: Writable
  /** Ends `start` (default: SIGINT or SIGTERM). */
  signal?: AbortSignal
}

/** Options of the operator commands (flags win over the environment). */
export interface ApiFlags {
  url?: string
  operatorKey?: string
  json?: boolean
  table?: boolean
}

/** A refusal from the bridge's API, with its stable code. */
export class ApiError extends Error {
  override readonly name = 'ApiError'
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message)
  }
}

export class BridgeCli {
  readonly output: CliOutput
  #config: Config | undefined

  constructor(readonly io: CliIo) {
    const tty = (s: Writable) => (s as NodeJS.WriteStream).isTTY === true
    this.output = {
      out: (l) => io.stdout.write(`${l}\n`),
      err: (l) => io.stderr.write(`${l}\n`),
      progressStream: tty(io.stderr) ? (io.stderr as NodeJS.WriteStream) : undefined,
      stdoutIsTTY: tty(io.stdout),
    }
  }

  get config(): Config {
    this.#config ??= loadConfig({ env: this.io.env })
    return this.#config
  }

  /**
   * Open the database (migrated) for one command. With DATABASE_URL=memory: nothing survives the command:
   * a command that writes says so before it starts.
   */
  async withDb<T>(what: { writes: boolean }, fn: (db: Db) => Promise<T>): Promise<T> {
    const config = this.config
    if (what.writes && config.database.url === 'memory:') {
      this.output.err(
        'warning: DATABASE_URL is memory: (an in-memory database) — what this command writes is lost when it exits',
      )
    }
    const db = await openDb(config.database.url, { warn: () => {}, prepare: config.database.prepare })
    try {
      await migrate(db)
      return await fn(db)
    } finally {
      await db.close()
    }
  }

  /** A tenant by the name or the id `tenant create` printed. */
  async tenant(db: Db, nameOrId: string): Promise<Tenant> {
    const t =
      (await findTenantByName(db, nameOrId)) ??
      (/^[0-9a-f]{16}$/.test(nameOrId) ? await getTenant(db, nameOrId) : null)
    if (!t)
      throw Object.assign(new Error(`no tenant named ${nameOrId} (give its name or id)`), {
        code: 'not_found',
      })
    return t
  }

  /** Call the running bridge's API as the operator. */
  async api<T>(flags: ApiFlags, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const base = flags.url ?? this.io.env.OPG_BRIDGE_URL
    const key = flags.operatorKey ?? this.io.env.OPG_OPERATOR_KEY
    if (!base) throw new CliUsageError('no bridge URL: give --url or set OPG_BRIDGE_URL')
    if (!key) throw new CliUsageError('no operator key: give --operator-key or set OPG_OPERATOR_KEY')
    let res: Response
    try {
      res = await fetch(new URL(path, base.endsWith('/') ? base : `${base}/`), {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(30_000),
      })
    } catch (cause) {
      throw Object.assign(new Error(`the bridge at ${base} cannot be reached`, { cause }), {
        code: 'offline',
      })
    }
    const text = await res.text()
    let parsed: unknown
    try {
      parsed = text ? JSON.parse(text) : {}
    } catch {
      throw new ApiError('bad_response', `the bridge answered ${res.status} with non-JSON`, res.status)
    }
    if (!res.ok) {
      const e = (
        parsed as {
          error?: { code?: string; message?: string; issues?: { path?: string; message?: string }[] }
        }
      ).error
      const issues = (e?.issues ?? []).map((i) => `${i.path ? `${i.path}: ` : ''}${i.message ?? ''}`)
      throw new ApiError(
        e?.code ?? `http_${res.status}`,
        issues.length ? issues.join('; ') : (e?.message ?? `HTTP ${res.status}`),
        res.status,
      )
    }
    return parsed as T
  }
}

/** Query string from defined values only. */
export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v))
  const s = q.toString()
  return s ? `?${s}` : ''
}
