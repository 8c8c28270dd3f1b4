/** Writes protocol/test-vectors/opg-v1*.json from scripts/*vectors.ts (node:crypto backend). */
import { writeFileSync } from 'node:fs'
import { nodeBackend } from '../src/node.js'
import { buildCommandVectors } from './command-vectors.js'
import { buildMessageVectors } from './message-vectors.js'
import { buildVectors } from './vectors.js'

const files = [
  ['../test-vectors/opg-v1.json', buildVectors(nodeBackend)],
  ['../test-vectors/opg-v1-commands.json', buildCommandVectors(nodeBackend)],
  ['../test-vectors/opg-v1-messages.json', buildMessageVectors(nodeBackend)],
] as const
for (const [path, vectors] of files) {
  const out = new URL(path, import.meta.url)
  writeFileSync(out, `${JSON.stringify(vectors, null, 2)}\n`)
  console.log(`wrote ${out.pathname}`)
}
