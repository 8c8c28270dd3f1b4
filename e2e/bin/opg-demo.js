#!/usr/bin/env node
// Launcher for `npm run demo`: the TypeScript sources run through tsx's ESM loader. Exit code 0 only if
// every step of the scenario had its expected outcome.
import '@opg/protocol/dev/source-loader'

const { runDemo } = await import('../src/demo.ts')
const { ok } = await runDemo({ keep: process.argv.includes('--keep') })
// Exit now even if a part failed to stop: the outcome is decided.
process.exit(ok ? 0 : 1)
