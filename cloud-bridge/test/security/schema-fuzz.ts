/**
 * Bad request bodies derived from the API's own OpenAPI document: for a JSON schema, an arbitrary that yields
 * values near the schema (the right shape with hostile leaves) and far from it (wrong types, NUL characters,
 * huge and fractional numbers, unknown enum values, extra and missing properties).
 */
import fc from 'fast-check'

/** A JSON schema node as @hono/zod-openapi emits it (the parts used here). */
export interface JsonSchema {
  $ref?: string
  type?: string | string[]
  properties?: Record<string, JsonSchema>
  required?: string[]
  items?: JsonSchema
  enum?: unknown[]
  anyOf?: JsonSchema[]
  oneOf?: JsonSchema[]
  allOf?: JsonSchema[]
  minimum?: number
  maximum?: number
  minLength?: number
  maxLength?: number
  example?: unknown
}

const hostileString = fc.oneof(
  fc.string(),
  fc.string().map((s) => `${s}\u0000${s}`),
  fc.constantFrom('', '\u0000', 'EUR', 'XXX', 'eur', 'tok_visa', 'tok_card_declined', '0f1e2d3c4b5a6978'),
  fc.constantFrom('+4915112345678', '\ud800', 'a'.repeat(10_000), '../../etc/passwd', "'; DROP TABLE x; --"),
  fc.stringMatching(/^[0-9a-f]{16}$/),
  fc.stringMatching(/^[A-Za-z0-9_-]{0,64}$/),
)

const hostileNumber = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -1, 1, 0.5, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53, 2 ** 63, -(2 ** 63), 1e300),
)

const anyJson = fc.jsonValue({ maxDepth: 2 })

/**
 * Values near `schema`, resolving `$ref` in `doc`: mostly values the schema accepts (patterned strings that
 * match, numbers in range, every property present) with hostile leaves mixed in, since only input that passes
 * validation reaches the handlers and the database; sometimes anything at all.
 */
export function nearSchema(
  schema: JsonSchema,
  doc: { components?: unknown },
  depth = 0,
): fc.Arbitrary<unknown> {
  if (depth > 6) return anyJson
  if (schema.$ref) {
    const name = schema.$ref.split('/').at(-1)!
    const schemas = (doc.components as { schemas?: Record<string, JsonSchema> } | undefined)?.schemas ?? {}
    return nearSchema(schemas[name] ?? {}, doc, depth + 1)
  }
  const alts = schema.anyOf ?? schema.oneOf ?? schema.allOf
  if (alts) return fc.oneof(...alts.map((s) => nearSchema(s, doc, depth + 1)))
  if (schema.enum)
    return fc.oneof(
      { arbitrary: fc.constantFrom(...schema.enum), weight: 4 },
      { arbitrary: hostileString, weight: 1 },
    )
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : []
  const arbs: fc.Arbitrary<unknown>[] = []
  for (const type of types) {
    if (type === 'object') {
      const props = Object.entries(schema.properties ?? {})
      const record: Record<string, fc.Arbitrary<unknown>> = {}
      for (const [k, s] of props) record[k] = nearSchema(s, doc, depth + 1)
      arbs.push(
        fc.oneof(
          { arbitrary: fc.record(record), weight: 4 },
          {
            arbitrary: fc
              .tuple(
                fc.record(record, { requiredKeys: [] }),
                fc.dictionary(fc.string(), anyJson, { maxKeys: 2 }),
              )
              .map(([known, extra]) => ({ ...extra, ...known })),
            weight: 1,
          },
        ),
      )
    } else if (type === 'array') {
      arbs.push(fc.array(nearSchema(schema.items ?? {}, doc, depth + 1), { maxLength: 5 }))
    } else if (type === 'string') {
      arbs.push(
        fc.oneof({ arbitrary: validString(schema), weight: 4 }, { arbitrary: hostileString, weight: 1 }),
      )
    } else if (type === 'integer' || type === 'number') {
      const min = Math.max(schema.minimum ?? -1e6, -Number.MAX_SAFE_INTEGER)
      const max = Math.min(schema.maximum ?? 1e9, Number.MAX_SAFE_INTEGER)
      arbs.push(
        fc.oneof(
          { arbitrary: fc.integer({ min: Math.ceil(min), max }), weight: 4 },
          { arbitrary: hostileNumber, weight: 1 },
        ),
      )
    } else if (type === 'boolean') {
      arbs.push(fc.boolean())
    } else if (type === 'null') {
      arbs.push(fc.constant(null))
    }
  }
  if (arbs.length === 0) return anyJson
  return fc.oneof({ arbitrary: fc.oneof(...arbs), weight: 9 }, { arbitrary: anyJson, weight: 1 })
}

/** A string the schema accepts; without a pattern, one that may carry a NUL (valid JSON, invalid in SQL text). */
function validString(schema: JsonSchema & { pattern?: string; format?: string }): fc.Arbitrary<string> {
  if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern))
  const minLength = schema.minLength ?? 0
  const maxLength = Math.max(minLength, Math.min(schema.maxLength ?? 40, 40))
  const plain = fc.string({ minLength, maxLength })
  const withNul = plain.map((s) => (s.length > 0 ? `\u0000${s.slice(1)}` : s))
  return fc.oneof(
    ...(schema.example !== undefined ? [fc.constant(String(schema.example))] : []),
    plain,
    withNul,
  )
}
