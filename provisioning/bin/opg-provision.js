#!/usr/bin/env node
// Launcher for the opg-provision command: TypeScript sources run through tsx's ESM loader.
import '@opg/protocol/dev/source-loader'

await import('../src/main.ts')
