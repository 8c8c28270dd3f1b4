// Boots the TypeScript verification worker (worker.ts) in a thread started by a process that registered
// tsx programmatically (bin/opg-bridge.js): such loader hooks do not reach new threads, so register here.
import { workerData } from 'node:worker_threads'
import '@opg/protocol/dev/source-loader'

await import(workerData.entry)
