/** Both crypto backends, so every suite runs on node:crypto and on the portable @noble backend. */
import type { CryptoBackend } from '../src/index.js'
import { nobleBackend } from '../src/index.js'
import { nodeBackend } from '../src/node.js'

export const backends: CryptoBackend[] = [nodeBackend, nobleBackend]
