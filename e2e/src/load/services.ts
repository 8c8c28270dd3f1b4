/**
 * What the fleet load test runs against, all on loopback: a scratch PostgreSQL database, a private Mosquitto on
 * a free port (so thousands of sessions never touch the shared broker), and bridge replicas as separate
 * `opg-bridge start` processes on a shared subscription, each measured from /proc (CPU, RSS).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTenant, loadMasterKey } from '@opg/cloud-bridge'
import { nodeBackend as c } from '@opg/protocol/node'
import { migrate } from '../../../cloud-bridge/src/db/migrate.js'
import { PostgresDb } from '../../../cloud-bridge/src/db/postgres.js'
import { initIssuer } from '../../../cloud-bridge/src/issuer/index.js'
import { ROOT } from '../node-process.js'
import { createScratchDb, freePort, type ScratchDb, tcpReachable } from '../services.js'

const OPG_BRIDGE = join(ROOT, 'cloud-bridge/bin/opg-bridge.js')

/** CPU (ms, user + system, every thread) and resident memory (bytes) of a process, from /proc. */
export function procStats(pid: number): { cpuMs: number; rssBytes: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return { cpuMs: (Number(f[11]) + Number(f[12])) * 10, rssBytes: Number(f[21]) * 4096 }
  } catch {
    return { cpuMs: 0, rssBytes: 0 }
  }
}

/**
 * A private Mosquitto for the fleet: loopback, anonymous (the boxes' payloads are sealed; broker identity is
 * the subject of the production setup, not of a load run), and no cap on the messages queued for a session.
 * Mosquitto's default (max_queued_messages 1000) silently drops QoS 1 messages queued for a busy subscriber
 * beyond that: in a storm of 2,000 boxes the bridge's shared-subscription session is such a subscriber, and
 * the boxes would only recover by re-sending after their ack timeout. Production brokers need the same.
 */
export class FleetBroker {
  #child: ChildProcess | undefined
  port = 0

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`
  }

  async start(dir: string): Promise<void> {
    this.port = await freePort()
    const conf = join(dir, 'mosquitto.conf')
    await writeFile(
      conf,
      [
        `listener ${this.port} 127.0.0.1`,
        'allow_anonymous true',
        'max_queued_messages 0',
        'max_inflight_messages 100',
        'persistence false',
        '',
      ].join('\n'),
    )
    const child = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' })
    this.#child = child
    const deadline = Date.now() + 5000
    while (!(await tcpReachable(this.url, 200))) {
      if (child.exitCode !== null) throw new Error(`mosquitto exited with ${child.exitCode}`)
      if (Date.now() > deadline) throw new Error('mosquitto did not start')
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  stats() {
    return procStats(this.#child?.pid ?? 0)
  }

  async stop(): Promise<void> {
    const child = this.#child
    this.#child = undefined
    if (!child || child.exitCode !== null) return
    const gone = new Promise<void>((r) => child.once('exit', () => r()))
    child.kill('SIGTERM')
    await gone
  }
}

/** A bridge replica in its own process. */
export class BridgeProcess {
  #child: ChildProcess | undefined
  httpUrl = ''

  constructor(
    readonly name: string,
    readonly env: NodeJS.ProcessEnv,
  ) {}

  get pid(): number {
    return this.#child?.pid ?? 0
  }

  async start(): Promise<void> {
    const port = await freePort()
    const child = spawn(process.execPath, [OPG_BRIDGE, 'start'], {
      env: { ...process.env, ...this.env, OPG_HTTP_PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.#child = child
    let err = ''
    child.stderr!.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000)
    })
    await new Promise<void>((resolve, reject) => {
      let out = ''
      const timer = setTimeout(() => reject(new Error(`${this.name} did not start: ${err}`)), 60_000)
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString()
        const m = /api (http:\/\/\S+),/.exec(out)
        if (m) {
          clearTimeout(timer)
          this.httpUrl = m[1]!
          resolve()
        }
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`${this.name} exited with ${code}: ${err}`))
      })
    })
  }

  stats() {
    return procStats(this.pid)
  }

  async stop(): Promise<void> {
    const child = this.#child
    this.#child = undefined
    if (!child || child.exitCode !== null) return
    const gone = new Promise<void>((r) => child.once('exit', () => r()))
    child.kill('SIGTERM')
    const t = setTimeout(() => child.kill('SIGKILL'), 15_000)
    await gone
    clearTimeout(t)
  }
}

/** Database, broker, tenant and the bridge replicas of one load run. */
export class LoadServices {
  readonly bridges: BridgeProcess[] = []
  db!: PostgresDb
  tenantId = ''
  operatorKey = ''
  mqttUrl = ''
  #scratch: ScratchDb | undefined
  readonly broker = new FleetBroker()
  #dir = ''

  async start(o: { replicas: number; holdSeconds: number; verifyWorkers?: number }): Promise<void> {
    this.#dir = await mkdtemp(join(tmpdir(), 'opg-load-'))
    this.#scratch = await createScratchDb()
    await this.broker.start(this.#dir)
    this.mqttUrl = this.broker.url
    this.db = new PostgresDb(this.#scratch.url, { max: 4 })
    await migrate(this.db)
    const masterKeyFile = join(this.#dir, 'master.key')
    await writeFile(masterKeyFile, `${randomBytes(16).toString('hex')}\n`, { mode: 0o600 })
    const { tenant, operatorKey } = await createTenant(this.db, 'Load', 'EUR')
    await initIssuer(this.db, { c, sealer: loadMasterKey(c, masterKeyFile) }, tenant.id)
    this.tenantId = tenant.id
    this.operatorKey = operatorKey.key
    for (let i = 0; i < o.replicas; i++) {
      const b = new BridgeProcess(`bridge ${i + 1}`, {
        DATABASE_URL: this.#scratch.url,
        MQTT_URL: this.mqttUrl,
        OPG_MQTT_CLIENT_ID: `opg-load-${i + 1}`,
        OPG_MASTER_KEY_FILE: masterKeyFile,
        OPG_MODE: 'test',
        OPG_LOG_LEVEL: 'warn',
        OPG_RATE_LIMIT_PER_KEY: '100000000',
        OPG_HOLD_PERIOD: `${o.holdSeconds}s`,
        OPG_SWEEP_INTERVAL: '1s',
        ...(o.verifyWorkers !== undefined ? { OPG_VERIFY_WORKERS: String(o.verifyWorkers) } : {}),
      })
      this.bridges.push(b)
      await b.start()
    }
  }

  /** Connections the PostgreSQL server holds for the scratch database. */
  async pgConnections(): Promise<number> {
    const r = await this.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database()',
    )
    return r.rows[0]!.n
  }

  async stop(): Promise<void> {
    for (const b of this.bridges) await b.stop().catch(() => {})
    await this.db?.close().catch(() => {})
    await this.broker.stop().catch(() => {})
    await this.#scratch?.drop().catch(() => {})
    if (this.#dir) await rm(this.#dir, { recursive: true, force: true })
  }
}
