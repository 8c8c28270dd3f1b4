/**
 * A merchant box as its own process: `opg-node start --sim` from node-runtime, exactly as systemd runs it on
 * a Pi (minus the hardware). System tests cut its power with SIGKILL and start it again on the same files.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { waitUntil } from './wait.js'

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
/** The `opg-node` launcher. */
export const OPG_NODE = join(ROOT, 'node-runtime/bin/opg-node.js')

export class NodeProcess {
  readonly configPath: string
  readonly env: NodeJS.ProcessEnv
  #child: ChildProcess | undefined
  #out = ''
  #exited: Promise<number | null> | undefined

  /** `env` overlays the config (e.g. OPG_MQTT__URL). */
  constructor(configPath: string, env: NodeJS.ProcessEnv = {}) {
    this.configPath = configPath
    this.env = env
  }

  /** Everything the process printed (JSON log lines). */
  get output(): string {
    return this.#out
  }

  /** Start and wait until the node says it is running (control socket up). */
  async start(timeoutMs = 30_000): Promise<void> {
    this.#out = ''
    const child = spawn(
      process.execPath,
      ['--conditions=@opg/source', OPG_NODE, 'start', '--sim', '--config', this.configPath],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...clockEnv(), ...this.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    this.#child = child
    child.stdout!.on('data', (d) => {
      this.#out += d
    })
    child.stderr!.on('data', (d) => {
      this.#out += d
    })
    this.#exited = new Promise((r) => child.once('exit', (code) => r(code)))
    let exitCode: number | null | undefined
    void this.#exited.then((c) => {
      exitCode = c
    })
    await waitUntil(
      'opg-node to run',
      () => {
        if (exitCode !== undefined) throw new Error(`opg-node exited (${exitCode}):\n${this.#out}`)
        return this.#out.includes('opg-node running')
      },
      { timeoutMs },
    )
  }

  /** Power cut: SIGKILL, no chance to flush or say goodbye. */
  async kill(): Promise<void> {
    await this.#signal('SIGKILL')
  }

  /** Orderly stop (SIGTERM); resolves with the exit code. */
  async stop(): Promise<number | null> {
    return this.#signal('SIGTERM')
  }

  async #signal(sig: NodeJS.Signals): Promise<number | null> {
    const child = this.#child
    this.#child = undefined
    if (!child) return null
    if (child.exitCode === null && child.signalCode === null) child.kill(sig)
    return (await this.#exited) ?? null
  }
}

/**
 * The clock settings a box must share with the test that starts it: libfaketime's preload and offset when the
 * suite runs a year ahead (`npm run test:future`), so the box and the bridge live on one calendar.
 */
function clockEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => k === 'LD_PRELOAD' || k === 'DONT_FAKE_MONOTONIC' || k.startsWith('FAKETIME'),
    ),
  )
}
