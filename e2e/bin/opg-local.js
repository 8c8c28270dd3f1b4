#!/usr/bin/env node
// Launcher for `npm start`: the TypeScript sources run through tsx's ESM loader.
import { register } from 'tsx/esm/api'

register()
const { runLocal } = await import('../src/local.ts')
process.exitCode = await runLocal()
