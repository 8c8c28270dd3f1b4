/**
 * Small builders shared by the route files: JSON bodies and responses, the error responses every route
 * may give, and the bearer-key security requirement.
 */
import type { z } from '@hono/zod-openapi'
import { ErrorSchema } from '../schemas.js'

/** Every /v1 route needs an API key. */
export const secured = [{ apiKey: [] }]

/** A JSON response with a schema. */
export function json<T extends z.ZodType>(schema: T, description: string) {
  return { content: { 'application/json': { schema } }, description }
}

/** A required JSON request body. */
export function body<T extends z.ZodType>(schema: T) {
  return { content: { 'application/json': { schema } }, required: true as const }
}

const err = (description: string) => json(ErrorSchema, description)

/** The error responses of an authenticated route. */
export const errors = {
  400: err('invalid request or malformed JSON'),
  401: err('missing or invalid API key'),
  403: err('the key’s role may not do this'),
  404: err('no such resource in this tenant'),
  409: err('conflict with the current state'),
  413: err('request body too large'),
  422: err('a token or key failed a protocol check'),
}
