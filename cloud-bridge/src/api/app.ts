/**
 * The bridge's HTTP API: one OpenAPIHono app with bearer-key auth on /v1, body-size limits, one error
 * handler, and the OpenAPI document at /openapi.json. Tests drive it with `app.request()` (no socket);
 * `http-server.ts` serves it over HTTP or HTTPS.
 */
import { OpenAPIHono } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { HTTPException } from 'hono/http-exception'
import type { Logger } from 'pino'
import type { AuthVariables } from '../auth/middleware.js'
import { bearerAuth } from '../auth/middleware.js'
import { RateLimiter, type RateLimitOptions } from '../auth/rate-limit.js'
import type { AlertOptions } from '../console/alerts.js'
import { createConsole } from '../console/index.js'
import type { OperatorCommandPort } from '../fleet/box-command-actions.js'
import type { SecretSealer } from '../issuer/master-key.js'
import type { BridgeMetrics } from '../metrics/metrics.js'
import type { TopupLimits } from '../online/limits.js'
import { registerOnlineRoutes } from '../online/routes.js'
import type { OnlinePayments } from '../online/service.js'
import { BridgeError, codeForStatus, toErrorResponse } from './errors.js'
import type { Database, IssuerPort, ReconcilerPort, SmsPort } from './ports.js'
import { registerClaimRoutes } from './routes/claim-routes.js'
import { registerMerchantRoutes } from './routes/merchant-routes.js'
import { registerOperatorListRoutes } from './routes/operator-list-routes.js'
import { registerOperatorRoutes } from './routes/operator-routes.js'
import { registerRefusedRoutes } from './routes/refused-routes.js'
import { registerTenantRoutes } from './routes/tenant-routes.js'
import { registerWalletRoutes } from './routes/wallet-routes.js'

/** Everything the API needs, passed in by the composition root. */
export interface ApiDeps {
  db: Database
  issuer: IssuerPort
  reconciler: ReconcilerPort
  /** The sandbox SMS outbox; null when the bridge sends real SMS (the listing then answers 503). */
  sms: SmsPort | null
  /** The master key, sealing device secrets before they are stored. */
  sealer: SecretSealer
  /** The bridge clock. */
  now: () => Date
  /** Purse validity the bridge signs by default and at most (≤ 72 h). */
  purseTtlSeconds: number
  /** Node certificate validity. */
  nodeCertTtlSeconds: number
  logger?: Logger
  /** Online payments (invoices, cards, top-ups, transfers, payouts); absent → those routes are not served. */
  online?: OnlinePayments
  /** Request and auth-failure limits (config http.*); absent → DEFAULT_RATE_LIMITS. */
  rateLimits?: RateLimitOptions
  /** Default daily top-up limits (config payments.topupLimit*); absent → DEFAULT_TOPUP_LIMITS. */
  topupLimits?: TopupLimits
  /** Request body limits in bytes: every route, and the larger one for signed-log uploads. */
  limits?: { bodyBytes?: number; logBodyBytes?: number }
  /** Prometheus metrics: served at /metrics and fed by every request; absent → no /metrics. */
  metrics?: BridgeMetrics
  /** When the console raises its alerts (defaults in console/alerts.ts). */
  alerts?: AlertOptions
  /** Operator commands to boxes (sync now, config override); absent → those routes answer not_configured. */
  boxCommands?: OperatorCommandPort
}

/** Hono environment of the API: the authenticated principal. */
export type ApiEnv = { Variables: AuthVariables }

/** The API app type routes are registered on. */
export type ApiApp = OpenAPIHono<ApiEnv>

export const DEFAULT_BODY_LIMIT = 64 * 1024
export const DEFAULT_LOG_BODY_LIMIT = 1024 * 1024

function errorResponse(c: Context, status: number, body: unknown): Response {
  return c.json(body, status as 400)
}

/** Build the API. Constructing it does no I/O. */
export function createApi(deps: ApiDeps): ApiApp {
  const app: ApiApp = new OpenAPIHono<ApiEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const issues = result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }))
        return c.json(
          { error: { code: 'invalid_request', message: 'the request does not match the schema', issues } },
          400,
        )
      }
    },
  })

  app.onError((err, c) => {
    if (err instanceof HTTPException) {
      const code = codeForStatus(err.status)
      const { status, body } = toErrorResponse(new BridgeError(code, err.message))
      return errorResponse(c, status, body)
    }
    const { status, body } = toErrorResponse(err)
    if (status >= 500) deps.logger?.error({ err, path: c.req.path }, 'request failed')
    else deps.logger?.debug({ code: body.error.code, path: c.req.path }, 'request refused')
    return errorResponse(c, status, body)
  })
  app.notFound((c) => errorResponse(c, 404, toErrorResponse(new BridgeError('not_found', c.req.path)).body))

  const tooLarge = (): never => {
    throw new BridgeError('payload_too_large', 'request body over the limit')
  }
  const small = bodyLimit({ maxSize: deps.limits?.bodyBytes ?? DEFAULT_BODY_LIMIT, onError: tooLarge })
  const large = bodyLimit({ maxSize: deps.limits?.logBodyBytes ?? DEFAULT_LOG_BODY_LIMIT, onError: tooLarge })
  app.use('*', (c, next) => (c.req.path.endsWith('/log') ? large(c, next) : small(c, next)))
  if (deps.metrics) app.use('*', deps.metrics.middleware())
  // One line per request; the Authorization header is never logged.
  app.use('*', async (c, next) => {
    const t0 = performance.now()
    await next()
    deps.logger?.info(
      {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(performance.now() - t0),
      },
      'request',
    )
  })
  app.use('/v1/*', bearerAuth(deps.db, new RateLimiter(deps.rateLimits)))

  app.openAPIRegistry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'A tenant API key: opg_<key id>_<secret>',
  })

  app.get('/health', (c) => c.json({ ok: true }))
  if (deps.metrics) {
    const metrics = deps.metrics
    app.get('/metrics', (c) => metrics.handle(c))
  }
  app.route(
    '/console',
    createConsole({
      db: deps.db,
      reconciler: deps.reconciler,
      now: deps.now,
      ...(deps.alerts ? { alerts: deps.alerts } : {}),
      ...(deps.boxCommands ? { boxCommands: deps.boxCommands } : {}),
    }),
  )
  registerTenantRoutes(app, deps)
  registerMerchantRoutes(app, deps)
  registerWalletRoutes(app, deps)
  registerClaimRoutes(app, deps)
  registerOperatorRoutes(app, deps)
  registerOperatorListRoutes(app, deps)
  registerRefusedRoutes(app, deps)
  if (deps.online) registerOnlineRoutes(app, { db: deps.db, online: deps.online, now: deps.now })

  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'opg cloud bridge', version: '1.0.0', description: 'Offline payment gateway bridge API' },
  })
  return app
}
