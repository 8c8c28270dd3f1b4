/**
 * Real services for the system tests: a scratch PostgreSQL database per run (created, then dropped with
 * FORCE), a reachability probe for a broker, and a private Mosquitto child on a free port for tests that
 * restart the broker. Addresses come from OPG_TEST_PG_URL / OPG_TEST_MQTT_URL (defaults: 127.0.0.1:5432 and
 * 127.0.0.1:1883).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { connect, createServer } from 'node:net'
import pg from 'pg'

export const TEST_PG_URL = process.env.OPG_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
export const TEST_MQTT_URL = process.env.OPG_TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883'

/** A fresh empty database; `drop()` removes it. */
export interface ScratchDb {
  url: string
  drop(): Promise<void>
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_PG_URL, connectionTimeoutMillis: 3000 })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

/** Whether the test PostgreSQL answers. */
export async function postgresReachable(): Promise<boolean> {
  try {
    await admin((c) => c.query('SELECT 1'))
    return true
  } catch {
    return false
  }
}

/** Create `opg_e2e_<pid>_<random>`. */
export async function createScratchDb(): Promise<ScratchDb> {
  const name = `opg_e2e_${process.pid}_${randomBytes(4).toString('hex')}`
  await admin((c) => c.query(`CREATE DATABASE ${name}`))
  const u = new URL(TEST_PG_URL)
  u.pathname = `/${name}`
  return {
    url: u.toString(),
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}),
  }
}

/** Whether something accepts TCP connections at the URL's host and port. */
export function tcpReachable(url: string, timeoutMs = 2000): Promise<boolean> {
  const u = new URL(url)
  return new Promise((resolve) => {
    const s = connect(Number(u.port), u.hostname)
    const done = (ok: boolean) => {
      s.destroy()
      resolve(ok)
    }
    s.setTimeout(timeoutMs, () => done(false))
    s.once('connect', () => done(true))
    s.once('error', () => done(false))
  })
}

/** A free TCP port on 127.0.0.1 (free when asked; good enough for tests on one machine). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

/** A private `mosquitto -p <port>` (anonymous, loopback only by default in Mosquitto 2). */
export class MosquittoProcess {
  readonly port: number
  #child: ChildProcess | undefined

  constructor(port: number) {
    this.port = port
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`
  }

  async start(): Promise<void> {
    const child = spawn('mosquitto', ['-p', String(this.port)], { stdio: 'ignore' })
    this.#child = child
    const failed = new Promise<never>((_, reject) => {
      child.once('error', reject)
      child.once('exit', (code) => reject(new Error(`mosquitto exited with ${code}`)))
    })
    const deadline = Date.now() + 5000
    while (!(await Promise.race([tcpReachable(this.url, 200), failed]))) {
      if (Date.now() > deadline) throw new Error('mosquitto did not start')
      await new Promise((r) => setTimeout(r, 50))
    }
    failed.catch(() => {})
  }

  /** SIGKILL (a crash) or SIGTERM; resolves when the process is gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.#child
    this.#child = undefined
    if (!child || child.exitCode !== null) return
    const gone = new Promise<void>((r) => child.once('exit', () => r()))
    child.kill(signal)
    await gone
  }
}

/** Whether the `mosquitto` binary can be run. */
export function mosquittoInstalled(): Promise<boolean> {
  return new Promise((resolve) => {
    const p = spawn('mosquitto', ['-h'], { stdio: 'ignore' })
    p.once('error', () => resolve(false))
    p.once('exit', () => resolve(true))
  })
}
