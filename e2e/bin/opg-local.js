#!/usr/bin/env node
// Launcher for `npm start`: the TypeScript sources run through tsx's ESM loader.
import '@opg/protocol/dev/source-loader'

const { runLocal } = await import('../src/local.ts')
process.exitCode = await runLocal()
