/**
 * The web console at /console: server-rendered pages (Hono JSX) for the cloud operator (fleet sync, money,
 * SMS) and the merchant (their boxes, takings, payouts, claims). Sign-in with an API key gives an HttpOnly,
 * SameSite=Strict session cookie (Secure outside loopback); every form carries the session's CSRF token and
 * every POST must come from this origin. Tenant isolation is the API's: every query is scoped by the session's
 * tenant, and a merchant's by its merchant id. No CDN: scripts and styles are served from here under a strict
 * Content-Security-Policy (no inline script or style).
 */
import { type Context, Hono } from 'hono'
import { secureHeaders } from 'hono/secure-headers'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { Database, ReconcilerPort } from '../api/ports.js'
import { resolveClaim } from '../claims/claims.js'
import type { OperatorCommandPort } from '../fleet/box-command-actions.js'
import { type AlertOptions, activeAlerts, DEFAULT_ALERT_OPTIONS } from './alerts.js'
import { serveAsset } from './assets.js'
import { DONE_TEXT, registerBoxCommandForms } from './box-commands.js'
import * as Fleet from './box-queries.js'
import * as Money from './money-queries.js'
import { BoxPage, FleetPage } from './pages/fleet.js'
import { Layout } from './pages/layout.js'
import { MoneyPage } from './pages/money.js'
import { LoginPage, ShopPage, SmsPage } from './pages/other.js'
import type { Scope } from './scope.js'
import {
  type ConsoleSession,
  clearSessionCookie,
  csrfMatches,
  endSession,
  findSession,
  sessionCookie,
  setSessionCookie,
  signIn,
} from './session.js'
import { stickerSvg } from './sticker.js'

export interface ConsoleDeps {
  db: Database
  reconciler: ReconcilerPort
  now: () => Date
  alerts?: AlertOptions
  /** Operator commands to boxes; absent → the box page's command buttons answer that none can be sent. */
  boxCommands?: OperatorCommandPort
}

type Env = { Variables: { session: ConsoleSession | null } }

const CSP = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  baseUri: ["'none'"],
  objectSrc: ["'none'"],
}

const DAY_MS = 86_400_000

/** The console as a Hono app, to be mounted at /console. Constructing it does no I/O. */
export function createConsole(deps: ConsoleDeps): Hono<Env> {
  const app = new Hono<Env>()
  const alertOptions = deps.alerts ?? DEFAULT_ALERT_OPTIONS

  app.use('*', secureHeaders({ contentSecurityPolicy: CSP, referrerPolicy: 'same-origin' }))
  app.use('*', async (c, next) => {
    c.header('Cache-Control', c.req.path.startsWith('/console/assets/') ? 'public, max-age=3600' : 'no-store')
    c.set('session', await findSession(deps.db, sessionCookie(c), deps.now()))
    if (c.req.method === 'POST') {
      // A form may only be posted from a page of this origin (covers sign-in, which has no session yet).
      const origin = c.req.header('origin')
      if (origin !== undefined && origin !== new URL(c.req.url).origin)
        return forbidden(c, 'cross-origin form')
    }
    await next()
  })

  const page = (c: Context, el: unknown, status: ContentfulStatusCode = 200) =>
    c.html(`<!doctype html>${String(el)}`, status)
  function forbidden(c: Context, why: string) {
    return page(
      c,
      <Layout title="Refused" session={null}>
        <p class="alert warning">This request was refused ({why}). Reload the page and try again.</p>
      </Layout>,
      403,
    )
  }
  const notFound = (c: Context, s: ConsoleSession | null) =>
    page(
      c,
      <Layout title="Not found" session={s}>
        <p>There is no such page, or it belongs to someone else.</p>
      </Layout>,
      404,
    )

  app.get('/assets/:file', (c) => serveAsset(c, c.req.param('file')))

  app.get('/login', (c) => page(c, <LoginPage />))
  app.post('/login', async (c) => {
    const form = await c.req.parseBody()
    const key = typeof form.key === 'string' ? form.key : ''
    const r = await signIn(deps.db, key, deps.now())
    if ('refused' in r) {
      const error =
        r.refused === 'wrong_role'
          ? 'Only operator and merchant keys can sign in to the console.'
          : 'That key is not valid (unknown, revoked, or mistyped).'
      return page(c, <LoginPage error={error} />, 401)
    }
    setSessionCookie(c, r.id, r.session.expiresAt)
    return c.redirect(r.session.role === 'operator' ? '/console/fleet' : '/console/shop', 303)
  })

  // Everything below needs a session.
  app.use('*', async (c, next) => {
    const s = c.get('session')
    if (!s) return c.req.method === 'GET' ? c.redirect('/console/login', 303) : forbidden(c, 'not signed in')
    if (c.req.method === 'POST') {
      const form = await c.req.parseBody()
      if (!csrfMatches(s, form.csrf)) return forbidden(c, 'missing or wrong form token')
    }
    await next()
  })

  app.get('/', (c) =>
    c.redirect(c.get('session')?.role === 'operator' ? '/console/fleet' : '/console/shop', 303),
  )

  app.post('/logout', async (c) => {
    await endSession(deps.db, sessionCookie(c), deps.now())
    clearSessionCookie(c)
    return c.redirect('/console/login', 303)
  })

  const operator = (s: ConsoleSession | null): s is ConsoleSession => s?.role === 'operator'
  const scopeOf = (s: ConsoleSession): Scope => ({
    tenantId: s.tenantId,
    merchantId: s.role === 'merchant' ? s.subjectId : null,
  })

  app.get('/fleet', async (c) => {
    const s = c.get('session')
    if (!operator(s)) return notFound(c, s)
    const now = deps.now()
    const boxes = await Fleet.boxes(deps.db, scopeOf(s), now)
    const exposure = Fleet.exposure(boxes)
    const [history, alerts] = await Promise.all([
      Fleet.exposureHistory(deps.db, s.tenantId, new Date(now.getTime() - DAY_MS)),
      activeAlerts(deps.db, s.tenantId, boxes, exposure, now, alertOptions),
    ])
    return page(
      c,
      <FleetPage session={s} now={now} boxes={boxes} exposure={exposure} history={history} alerts={alerts} />,
    )
  })

  const boxPage = async (
    c: Context,
    s: ConsoleSession,
    id: string,
    msg: { notice?: string; error?: string } = {},
    status: ContentfulStatusCode = 200,
  ) => {
    const now = deps.now()
    const box = (await Fleet.boxes(deps.db, scopeOf(s), now)).find((b) => b.id === id)
    if (!box) return notFound(c, s)
    const { rows } = await deps.db.query<{ status: unknown; currency: string }>(
      `SELECT d.status, t.currency FROM devices d JOIN tenants t ON t.id = d.tenant_id
       WHERE d.tenant_id = $1 AND d.id = $2`,
      [s.tenantId, box.id],
    )
    const payments = await Money.payments(deps.db, scopeOf(s), { deviceId: box.id, limit: 100 })
    return page(
      c,
      <BoxPage
        session={s}
        now={now}
        box={box}
        status={rows[0]?.status}
        payments={payments}
        currency={rows[0]?.currency ?? 'EUR'}
        notice={msg.notice}
        error={msg.error}
      />,
      status,
    )
  }

  app.get('/boxes/:id', async (c) => {
    const s = c.get('session')
    if (!operator(s)) return notFound(c, s)
    const done = c.req.query('done')
    return boxPage(c, s, c.req.param('id'), done ? { notice: DONE_TEXT[done] } : {})
  })

  registerBoxCommandForms(app, { ...deps, operator, boxPage, notFound })

  app.get('/boxes/:id/sticker.svg', async (c) => {
    const s = c.get('session')
    if (!s) return notFound(c, s)
    const svg = await stickerSvg(deps.db, scopeOf(s), c.req.param('id'))
    if (!svg) return notFound(c, s)
    c.header('Content-Type', 'image/svg+xml; charset=utf-8')
    return c.body(svg)
  })

  app.get('/money', async (c) => {
    const s = c.get('session')
    if (!operator(s)) return notFound(c, s)
    const now = deps.now()
    const scope = scopeOf(s)
    const boxes = await Fleet.boxes(deps.db, scope, now)
    const [totals, holds, claims, proofs, refused, payouts, alerts] = await Promise.all([
      Money.paymentTotals(deps.db, scope),
      Money.payments(deps.db, scope, { states: ['held'], limit: 200 }),
      Money.claims(deps.db, scope),
      Money.doubleSpends(deps.db, s.tenantId),
      Money.refused(deps.db, s.tenantId),
      Money.payouts(deps.db, scope),
      activeAlerts(deps.db, s.tenantId, boxes, Fleet.exposure(boxes), now, alertOptions),
    ])
    const done = c.req.query('resolved')
    return page(
      c,
      <MoneyPage
        session={s}
        now={now}
        totals={totals}
        holds={holds}
        claims={claims}
        proofs={proofs}
        refused={refused}
        payouts={payouts}
        alerts={alerts}
        notice={done ? `Claim ${done} resolved.` : undefined}
      />,
    )
  })

  app.post('/claims/:id/resolve', async (c) => {
    const s = c.get('session')
    if (!operator(s)) return notFound(c, s)
    const form = await c.req.parseBody()
    const decision = form.decision
    if (decision !== 'reverse' && decision !== 'uphold') return forbidden(c, 'unknown decision')
    const id = c.req.param('id')
    try {
      await resolveClaim(deps.db, deps.reconciler, s.tenantId, id, decision, `console:${s.keyId}`, null)
    } catch (err) {
      const code = (err as { code?: string }).code
      if (code === 'not_found') return notFound(c, s)
      if (code === 'claim_closed') return c.redirect(`/console/money?resolved=${encodeURIComponent(id)}`, 303)
      throw err
    }
    return c.redirect(`/console/money?resolved=${encodeURIComponent(id)}`, 303)
  })

  app.get('/sms', async (c) => {
    const s = c.get('session')
    if (!operator(s)) return notFound(c, s)
    const now = deps.now()
    const boxes = await Fleet.boxes(deps.db, scopeOf(s), now)
    const [sms, alerts] = await Promise.all([
      Money.smsOutbox(deps.db, s.tenantId),
      activeAlerts(deps.db, s.tenantId, boxes, Fleet.exposure(boxes), now, alertOptions),
    ])
    return page(c, <SmsPage session={s} rows={sms.rows} byStatus={sms.byStatus} alerts={alerts} />)
  })

  app.get('/shop', async (c) => {
    const s = c.get('session')
    if (!s) return notFound(c, s)
    if (s.role === 'operator' || !s.subjectId) return c.redirect('/console/fleet', 303)
    const now = deps.now()
    const scope = scopeOf(s)
    const midnight = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()))
    const [boxes, today, balances, recent, payouts, claims] = await Promise.all([
      Fleet.boxes(deps.db, scope, now),
      Money.paymentTotals(deps.db, scope, midnight),
      Money.merchantBalances(deps.db, s.tenantId, s.subjectId),
      Money.payments(deps.db, scope, { limit: 50 }),
      Money.payouts(deps.db, scope),
      Money.claims(deps.db, scope),
    ])
    return page(
      c,
      <ShopPage
        session={s}
        now={now}
        boxes={boxes}
        today={today}
        balances={balances}
        recent={recent}
        payouts={payouts}
        claims={claims}
      />,
    )
  })

  app.notFound((c) => notFound(c, c.get('session') ?? null))
  return app
}
