/**
 * Token verification on every core: a pool of worker threads, each verifying chunks of a request in parallel
 * (Ed25519 on libsodium, see crypto.ts). A request of n tokens is cut into one chunk per worker,
 * so a single 100-token batch already uses all cores. A worker that dies is replaced and its chunks fail with
 * a VerifyPoolError (the caller's batch is then not acked and will be redelivered).
 *
 * InlineVerifier is the same contract on the calling thread: for tests, tiny deployments and the payer-side
 * upload of a few tokens, where a thread hop costs more than it saves.
 */
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { createBridgeBackend } from '../crypto.js'
import { CertCache, type CertFilter } from './cert-cache.js'
import { type VerifyContext, type VerifyResult, verifyTokenBytes } from './verify-token.js'
import type { WorkerForget, WorkerRequest, WorkerResponse } from './worker.js'

/** Verifies token bytes against a context; one result per token, in order. */
export interface TokenVerifier {
  verify(tokens: Uint8Array[], ctx: VerifyContext): Promise<VerifyResult[]>
  /** Evict cached purse certificates of a revoked wallet or issuer key (a no-op for a verifier without cache). */
  forget?(f: CertFilter): Promise<void>
}

/** Errors of the pool itself (never of a token: a bad token is a result, not an error). */
export class VerifyPoolError extends Error {
  override readonly name = 'VerifyPoolError'
  constructor(
    readonly code: 'not_started' | 'worker_failed' | 'stopped',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** Verification on the calling thread. */
export class InlineVerifier implements TokenVerifier {
  private readonly c = createBridgeBackend()
  /** This thread's verified purse certificates (see cert-cache.ts); undefined when disabled. */
  readonly certs: CertCache | undefined
  /** `certCache`: how many verified certificates to keep (0: verify every certificate every time). */
  constructor(opts: { certCache?: number } = {}) {
    this.certs = opts.certCache === 0 ? undefined : new CertCache(opts.certCache)
  }
  async verify(tokens: Uint8Array[], ctx: VerifyContext): Promise<VerifyResult[]> {
    return tokens.map((b) => verifyTokenBytes(this.c, b, ctx, this.certs))
  }
  async forget(f: CertFilter): Promise<void> {
    this.certs?.forget(f)
  }
}

interface Pending {
  resolve(r: VerifyResult[]): void
  reject(e: Error): void
}

interface Slot {
  worker: Worker
  pending: Map<number, Pending>
}

export interface VerifyPoolOptions {
  /** Worker threads (default: every core). */
  size?: number
  /** Smallest chunk worth sending to another thread (default 8). */
  minChunk?: number
  /** Verified purse certificates each worker keeps (default 20,000; 0 verifies every certificate every time). */
  certCache?: number
}

/** A pool of verification worker threads. */
export class VerifyPool implements TokenVerifier {
  readonly size: number
  private readonly minChunk: number
  private readonly certCache: number | undefined
  private slots: Slot[] = []
  private nextId = 1
  private next = 0
  private running = false

  constructor(opts: VerifyPoolOptions = {}) {
    this.size = Math.max(1, opts.size ?? availableParallelism())
    this.minChunk = Math.max(1, opts.minChunk ?? 8)
    this.certCache = opts.certCache
  }

  /** Spawn the workers and wait until each is online. */
  async start(): Promise<void> {
    if (this.running) return
    this.running = true
    await Promise.all(Array.from({ length: this.size }, (_, i) => this.spawn(i)))
  }

  /** Terminate the workers; requests still in flight fail with 'stopped'. */
  async stop(): Promise<void> {
    if (!this.running) return
    this.running = false
    const slots = this.slots
    this.slots = []
    for (const s of slots) {
      for (const p of s.pending.values()) p.reject(new VerifyPoolError('stopped', 'verify pool stopped'))
      s.pending.clear()
    }
    await Promise.all(slots.map((s) => s.worker.terminate()))
  }

  private spawn(i: number): Promise<void> {
    // The worker is TypeScript, and loader hooks registered in code (bin/opg-bridge.js, the tsx CLI) do not
    // reach new threads: a small JavaScript shim registers tsx in the thread, then imports worker.ts.
    const entry = new URL('./worker.ts', import.meta.url)
    const worker = new Worker(new URL('./worker-boot.mjs', import.meta.url), {
      workerData: { entry: entry.href, certCache: this.certCache },
    })
    const slot: Slot = { worker, pending: new Map() }
    this.slots[i] = slot
    worker.on('message', (m: WorkerResponse) => {
      const p = slot.pending.get(m.id)
      slot.pending.delete(m.id)
      p?.resolve(m.results)
    })
    const fail = (err: Error) => {
      for (const p of slot.pending.values()) {
        p.reject(new VerifyPoolError('worker_failed', 'verification worker failed', { cause: err }))
      }
      slot.pending.clear()
      if (this.running && this.slots[i] === slot) void this.spawn(i).catch(() => {})
    }
    worker.on('error', fail)
    worker.on('exit', (code) => {
      if (this.running && this.slots[i] === slot) fail(new Error(`worker exited with code ${code}`))
    })
    return new Promise((resolve, reject) => {
      worker.once('online', () => resolve())
      worker.once('error', reject)
    })
  }

  private send(slot: Slot, tokens: Uint8Array[], ctx: WorkerRequest['ctx']): Promise<VerifyResult[]> {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject })
      slot.worker.postMessage({ id, tokens, ctx } satisfies WorkerRequest)
    })
  }

  /** Evict cached certificates in every worker; resolves once each worker has. */
  async forget(f: CertFilter): Promise<void> {
    await Promise.all(
      this.slots.map(
        (slot) =>
          new Promise<void>((resolve, reject) => {
            const id = this.nextId++
            slot.pending.set(id, { resolve: () => resolve(), reject })
            slot.worker.postMessage({ id, forget: f } satisfies WorkerForget)
          }),
      ),
    )
  }

  async verify(tokens: Uint8Array[], ctx: VerifyContext): Promise<VerifyResult[]> {
    if (!this.running || this.slots.length === 0)
      throw new VerifyPoolError('not_started', 'verify pool not started')
    if (tokens.length === 0) return []
    const wire = { ...ctx, issuerKeys: [...ctx.issuerKeys.entries()] as [string, Uint8Array][] }
    const chunks = Math.min(this.slots.length, Math.ceil(tokens.length / this.minChunk))
    const per = Math.ceil(tokens.length / chunks)
    const parts: Promise<VerifyResult[]>[] = []
    for (let i = 0; i < tokens.length; i += per) {
      const slot = this.slots[this.next++ % this.slots.length]!
      parts.push(this.send(slot, tokens.slice(i, i + per), wire))
    }
    return (await Promise.all(parts)).flat()
  }
}
