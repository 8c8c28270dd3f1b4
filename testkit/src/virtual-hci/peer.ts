/**
 * Child processes on the virtual radio. bleno keeps process-wide state (one GATT server, one adapter), so each
 * box or wallet under test runs in its own process: the test spawns a script with `spawnPeer`, and the script
 * calls `peerConfig()` + `installVirtualHci()` and then `servePeer(ops)` to answer the test's calls over IPC.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { dirname } from 'node:path'

const ENV_ROLE = 'OPG_PEER_ROLE'
const ENV_RADIO = 'OPG_PEER_RADIO'
const ENV_ADDRESS = 'OPG_PEER_ADDRESS'
const ENV_NAME = 'OPG_PEER_NAME'

/** Options of spawnPeer. */
export interface SpawnPeerOptions {
  /** TypeScript or JavaScript file to run (with tsx). */
  file: string
  /** Passed to the child as its role, e.g. 'box' or 'wallet'. */
  role: string
  /** The radio the child's controller joins. */
  radioPath: string
  /** BD address for the child's controller. */
  address?: string
  /** Extra environment for the child. */
  env?: Record<string, string>
}

/** What the child sees of its spawn options. */
export interface PeerConfig {
  role: string
  radioPath: string
  address: string | undefined
  name: string
}

interface Reply {
  id: number
  ok: boolean
  value?: unknown
  error?: { name: string; message: string; code?: string }
}

/** Raised in the test when a peer call fails; carries the child's error code and its output so far. */
export class PeerCallError extends Error {
  override readonly name = 'PeerCallError'
  readonly code: string | undefined
  constructor(message: string, code: string | undefined) {
    super(message)
    this.code = code
  }
}

/** A running child on the radio, driven by `call`. */
export class PeerProcess {
  readonly role: string
  #child: ChildProcess
  #nextId = 1
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  #output: string[] = []
  #exited: Promise<number | null>
  readonly events: Array<{ event: string; data: unknown }> = []
  #waiters = new Set<(e: { event: string; data: unknown }) => void>()

  constructor(child: ChildProcess, role: string) {
    this.#child = child
    this.role = role
    child.stdout?.on('data', (d: Buffer) => this.#output.push(d.toString()))
    child.stderr?.on('data', (d: Buffer) => this.#output.push(d.toString()))
    child.on('message', (m: Reply | { event: string; data: unknown }) => {
      if ('event' in m) {
        this.events.push(m)
        for (const w of [...this.#waiters]) w(m)
        return
      }
      const p = this.#pending.get(m.id)
      if (!p) return
      this.#pending.delete(m.id)
      if (m.ok) p.resolve(m.value)
      else p.reject(new PeerCallError(`${role}: ${m.error?.name}: ${m.error?.message}`, m.error?.code))
    })
    this.#exited = new Promise((resolve) => {
      child.on('exit', (code) => {
        for (const p of this.#pending.values())
          p.reject(new Error(`${role} exited (${code}): ${this.output}`))
        this.#pending.clear()
        resolve(code)
      })
    })
  }

  /**
   * The first event, already received or still to come, that `match` accepts: for what the child reports when
   * it gets there (IPC events trail the other child's results; a command exits after its radio work is done).
   * Rejects after `timeoutMs`.
   */
  waitForEvent(
    match: (e: { event: string; data: unknown }) => boolean,
    timeoutMs = 15_000,
  ): Promise<{ event: string; data: unknown }> {
    const seen = this.events.find(match)
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const waiter = (e: { event: string; data: unknown }) => {
        if (!match(e)) return
        clearTimeout(timer)
        this.#waiters.delete(waiter)
        resolve(e)
      }
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter)
        reject(new Error(`${this.role}: no matching event after ${timeoutMs} ms\n${this.output}`))
      }, timeoutMs)
      this.#waiters.add(waiter)
    })
  }

  /** Everything the child printed. */
  get output(): string {
    return this.#output.join('')
  }

  /** Call an operation the child serves; rejects with PeerCallError on its error or after `timeoutMs`. */
  call<T = unknown>(op: string, args: unknown = {}, timeoutMs = 30_000): Promise<T> {
    const id = this.#nextId++
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new Error(`${this.role}: ${op} timed out after ${timeoutMs} ms\n${this.output}`))
      }, timeoutMs)
      this.#pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer)
          resolve(v as T)
        },
        reject: (e) => {
          clearTimeout(timer)
          reject(e)
        },
      })
      this.#child.send({ id, op, args })
    })
  }

  /** Ask the child to stop its stack and exit; kill it if it has not exited within `timeoutMs`. */
  async stop(timeoutMs = 5_000): Promise<number | null> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return this.#child.exitCode
    this.#child.send({ id: 0, op: '$exit', args: {} })
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), timeoutMs)
    const code = await this.#exited
    clearTimeout(timer)
    return code
  }

  /** Kill the child at once (a box losing power). */
  async kill(): Promise<void> {
    this.#child.kill('SIGKILL')
    await this.#exited
  }
}

/** Start `file` as a peer child with the tsx loader and an IPC channel. */
export function spawnPeer(options: SpawnPeerOptions): PeerProcess {
  // A clean environment: the test runner's loaders and reporters must not leak into the child.
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k === 'NODE_OPTIONS' || k.startsWith('TAP') || k.startsWith('_TAP')) continue
    if (k.endsWith('_HCI_DEVICE_ID') || k === 'HCI_CHANNEL_USER') continue
    env[k] = v
  }
  Object.assign(env, options.env, {
    [ENV_ROLE]: options.role,
    [ENV_RADIO]: options.radioPath,
    [ENV_NAME]: options.role,
  })
  if (options.address) env[ENV_ADDRESS] = options.address
  const child = spawn(process.execPath, ['--conditions=@opg/source', '--import', 'tsx', options.file], {
    cwd: dirname(options.file),
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'advanced',
  })
  return new PeerProcess(child, options.role)
}

/** In a child: its spawn options, or undefined when this process is not a peer. */
export function peerConfig(): PeerConfig | undefined {
  const role = process.env[ENV_ROLE]
  const radioPath = process.env[ENV_RADIO]
  if (!role || !radioPath) return undefined
  return { role, radioPath, address: process.env[ENV_ADDRESS], name: process.env[ENV_NAME] ?? role }
}

/** An operation a peer serves; `emit` sends an event the test can read from `PeerProcess.events`. */
export type PeerOp = (args: never, emit: (event: string, data?: unknown) => void) => unknown

/**
 * In a child: answer the test's calls until it asks to exit, then run `onExit` (stop bleno/noble, close the
 * virtual sockets) and drop the IPC channel so the process can end by itself.
 */
export function servePeer(ops: Record<string, PeerOp>, onExit: () => Promise<void> | void): void {
  const send = (m: unknown) => process.send?.(m)
  const emit = (event: string, data?: unknown) => send({ event, data })
  process.on('message', async (m: { id: number; op: string; args: never }) => {
    if (m.op === '$exit') {
      try {
        await onExit()
      } finally {
        process.disconnect?.()
      }
      return
    }
    const fn = ops[m.op]
    try {
      if (!fn) throw new Error(`unknown op ${m.op}`)
      send({ id: m.id, ok: true, value: await fn(m.args, emit) })
    } catch (err) {
      const e = err as { name?: string; message?: string; code?: unknown }
      send({
        id: m.id,
        ok: false,
        error: {
          name: e.name ?? 'Error',
          message: e.message ?? String(err),
          code: typeof e.code === 'string' ? e.code : undefined,
        },
      })
    }
  })
}
