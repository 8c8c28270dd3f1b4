/**
 * Verification worker thread: receives chunks of token bytes with their context, verifies each with the
 * node:crypto backend (its own instance, so its Ed25519 key-object cache is this thread's), and answers
 * with one result per token.
 */
import { parentPort } from 'node:worker_threads'
import { createNodeBackend } from '@opg/protocol/node'
import { type VerifyContext, type VerifyResult, verifyTokenBytes } from './verify-token.js'

/** A request to a worker. The keyring travels as entries (a Map survives cloning, entries are smaller). */
export interface WorkerRequest {
  id: number
  tokens: Uint8Array[]
  ctx: Omit<VerifyContext, 'issuerKeys'> & { issuerKeys: [string, Uint8Array][] }
}

export interface WorkerResponse {
  id: number
  results: VerifyResult[]
}

const c = createNodeBackend()
const port = parentPort
if (port) {
  port.on('message', (req: WorkerRequest) => {
    const ctx: VerifyContext = { ...req.ctx, issuerKeys: new Map(req.ctx.issuerKeys) }
    const results = req.tokens.map((b) => verifyTokenBytes(c, b, ctx))
    port.postMessage({ id: req.id, results } satisfies WorkerResponse)
  })
}
