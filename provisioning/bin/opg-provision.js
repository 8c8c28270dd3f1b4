#!/usr/bin/env node
// Launcher for the opg-provision command: TypeScript sources run through tsx's ESM loader.
import { register } from 'tsx/esm/api'

register()
await import('../src/main.ts')
