/**
 * A CommonJS dependency loaded on its first use rather than at start-up: memory (several MB of RSS each) that a
 * box in service may never need, such as the simulated camera's encoders or a modem's serial port.
 */
import { createRequire } from 'node:module'

const load = createRequire(import.meta.url)

/** Returns a getter that loads `specifier` once, on its first call. */
export function lazyModule<T>(specifier: string): () => T {
  let loaded: T | undefined
  return () => {
    loaded ??= load(specifier) as T
    return loaded
  }
}
