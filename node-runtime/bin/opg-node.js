#!/usr/bin/env node
// The opg-node command. On the box it runs the built JavaScript with no loader: the bundle (dist/bundle/, made
// by `npm run build`), else the plain `tsc` emit (dist/cli/). A loader costs start-up time and ~50 MB of memory,
// and the bundle saves another ~10 MB and half the start-up against the ~600 modules it replaces. In a checkout
// it runs the TypeScript sources through tsx when the `@opg/source` export condition is set
// (`node --conditions=@opg/source`, as the tests do), or when nothing has been built yet, so a fresh clone
// works without a build step.
import { existsSync } from 'node:fs'

const bundle = new URL('../dist/bundle/opg-node.js', import.meta.url)
const built = new URL('../dist/cli/index.js', import.meta.url)
const sourceWanted = import.meta.resolve('@opg/node-runtime').endsWith('.ts')

if (sourceWanted || !existsSync(built)) {
  await import('@opg/protocol/dev/source-loader')
  await import('../src/cli/index.ts')
} else if (existsSync(bundle)) {
  await import(bundle.href)
} else {
  await import(built.href)
}
