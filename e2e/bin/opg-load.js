#!/usr/bin/env node
// Launcher for `npm run load`: the fleet load test (src/load), through tsx's ESM loader.
import { register } from 'tsx/esm/api'

register()
const { runLoadTest } = await import('../src/load/main.ts')
const ok = await runLoadTest()
process.exit(ok ? 0 : 1)
