/**
 * Child process of vault-commit.ts: open (replay) an existing vault and report the time to ready and the
 * memory it takes, from a fresh process so nothing else is counted. Usage: tsx --conditions=@opg/source bench/vault-open.ts <dir>
 */
import { FileVault } from '../src/vault/index.js'

const dir = process.argv[2]
if (!dir) throw new Error('usage: vault-open.ts <dir>')
const key = new Uint8Array(16).fill(0x42)
globalThis.gc?.()
const rssBefore = process.memoryUsage().rss
const t0 = performance.now()
const v = await FileVault.open({ dir, key })
const readyMs = performance.now() - t0
const rssAfter = process.memoryUsage().rss
globalThis.gc?.()
const mem = process.memoryUsage()
const s = v.stats()
await v.close()
process.stdout.write(
  `${JSON.stringify({ readyMs, rssBefore, rssAfter, rssSettled: mem.rss, heapUsed: mem.heapUsed, records: s.records, bytes: s.bytes })}\n`,
)
