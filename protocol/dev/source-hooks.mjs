// Module resolution hook (see source-loader.mjs): every import resolves with the `@opg/source` condition.
const SOURCE = '@opg/source'

export async function resolve(specifier, context, nextResolve) {
  if (context.conditions.includes(SOURCE)) return nextResolve(specifier, context)
  return nextResolve(specifier, { ...context, conditions: [...context.conditions, SOURCE] })
}
