// Development entry for processes started from code rather than with `node --conditions=@opg/source --import tsx`
// (the bin launchers, worker threads): registers tsx for the TypeScript sources and adds the `@opg/source`
// export condition, so `@opg/*` imports resolve to src/ instead of the built dist/ the box runs.
import { register } from 'node:module'
import { register as registerTsx } from 'tsx/esm/api'

registerTsx()
// Hooks registered last run first: the condition is added before tsx and Node's resolver see the import.
register('./source-hooks.mjs', import.meta.url)
