#!/usr/bin/env node
// The opg-node command. On the box it runs the built JavaScript (dist/, made by `npm run build`) with no loader:
// a loader costs start-up time and ~50 MB of memory. In a checkout it runs the TypeScript sources through tsx
// when the `@opg/source` export condition is set (`node --conditions=@opg/source`, as the tests do), or when
// nothing has been built yet, so a fresh clone works without a build step.
import { existsSync } from 'node:fs'

const built = new URL('../dist/cli/index.js', import.meta.url)
const sourceWanted = import.meta.resolve('@opg/node-runtime').endsWith('.ts')

if (sourceWanted || !existsSync(built)) {
  await import('@opg/protocol/dev/source-loader')
  await import('../src/cli/index.ts')
} else {
  await import(built.href)
}
