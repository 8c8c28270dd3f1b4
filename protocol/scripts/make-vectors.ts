/** Writes protocol/test-vectors/opg-v1.json from scripts/vectors.ts (node:crypto backend). */
import { writeFileSync } from 'node:fs'
import { nodeBackend } from '../src/node.js'
import { buildVectors } from './vectors.js'

const out = new URL('../test-vectors/opg-v1.json', import.meta.url)
writeFileSync(out, `${JSON.stringify(buildVectors(nodeBackend), null, 2)}\n`)
console.log(`wrote ${out.pathname}`)
