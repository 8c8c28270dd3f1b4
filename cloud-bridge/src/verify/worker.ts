/**
 * Verification worker thread: receives chunks of token bytes with their context, verifies each with the
 * bridge's backend (its own instance, see crypto.ts) and its own cache
 * of verified purse certificates, and answers with one result per token.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { createBridgeBackend } from '../crypto.js'
import { CertCache, type CertFilter } from './cert-cache.js'
import { type VerifyContext, type VerifyResult, verifyTokenBytes } from './verify-token.js'

/** A request to a worker. The keyring travels as entries (a Map survives cloning, entries are smaller). */
export interface WorkerRequest {
  id: number
  tokens: Uint8Array[]
  ctx: Omit<VerifyContext, 'issuerKeys'> & { issuerKeys: [string, Uint8Array][] }
}

/** Evict cached certificates (a revoked wallet or issuer key); answered with an empty result list. */
export interface WorkerForget {
  id: number
  forget: CertFilter
}

export interface WorkerResponse {
  id: number
  results: VerifyResult[]
}

const c = createBridgeBackend()
const size = (workerData as { certCache?: number } | null)?.certCache
const certs = size === 0 ? undefined : new CertCache(size)
const port = parentPort
if (port) {
  port.on('message', (req: WorkerRequest | WorkerForget) => {
    if ('forget' in req) {
      certs?.forget(req.forget)
      port.postMessage({ id: req.id, results: [] } satisfies WorkerResponse)
      return
    }
    const ctx: VerifyContext = { ...req.ctx, issuerKeys: new Map(req.ctx.issuerKeys) }
    const results = req.tokens.map((b) => verifyTokenBytes(c, b, ctx, certs))
    port.postMessage({ id: req.id, results } satisfies WorkerResponse)
  })
}
