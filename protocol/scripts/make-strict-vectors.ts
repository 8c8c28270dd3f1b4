/** Writes protocol/test-vectors/ed25519-strict.json from scripts/strict-vectors.ts. */
import { writeFileSync } from 'node:fs'
import { buildStrictVectors } from './strict-vectors.js'

const out = new URL('../test-vectors/ed25519-strict.json', import.meta.url)
writeFileSync(out, `${JSON.stringify(buildStrictVectors(), null, 2)}\n`)
console.log(`wrote ${out.pathname}`)
