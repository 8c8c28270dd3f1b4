/** The version `opg-wallet --version` prints: the package's own. */
import { createRequire } from 'node:module'

export const VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string })
  .version
