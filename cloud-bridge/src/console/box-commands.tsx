/**
 * The box page's command forms: sync now, a config override, revoke. Each goes through the same functions as
 * the API (fleet/box-command-actions.ts, fleet/operator-actions.ts), so it is sealed, sequenced and audited the
 * same way; the acting key is the signed-in operator's. The exposure limits are typed as money in the tenant's
 * currency and parsed by the one money module.
 */
import { type ConfigOverride, isProtocolError, MoneyError, parseMoney } from '@opg/protocol'
import type { Context, Hono } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { isBridgeError } from '../api/errors.js'
import type { Database } from '../api/ports.js'
import { commandBox, type OperatorCommand, type OperatorCommandPort } from '../fleet/box-command-actions.js'
import { revokeDevice } from '../fleet/operator-actions.js'
import type { ConsoleSession } from './session.js'

/** What the page says after a command, by the `done` query value of the redirect. */
export const DONE_TEXT: Record<string, string> = {
  sync_now: 'Sync requested: the box is online and publishes what it holds now.',
  sync_now_offline: 'Sync requested: the box is offline and does it when it reconnects.',
  config: 'Override sent: the box applies it at its next start.',
  config_offline:
    'Override queued: the box is offline; it stores it when it reconnects and applies it at its next start.',
  revoked: 'The box is revoked. Its payments are refused from now on and kept with their reason.',
  not_sent: 'The command could not be sent (the broker did not take it). Try again.',
}

type Env = { Variables: { session: ConsoleSession | null } }

interface FormDeps {
  db: Database
  now: () => Date
  boxCommands?: OperatorCommandPort
  operator: (s: ConsoleSession | null) => s is ConsoleSession
  boxPage: (
    c: Context,
    s: ConsoleSession,
    id: string,
    msg?: { notice?: string; error?: string },
    status?: ContentfulStatusCode,
  ) => Promise<Response>
  notFound: (c: Context, s: ConsoleSession | null) => Response | Promise<Response>
}

const field = (form: Record<string, unknown>, name: string): string =>
  typeof form[name] === 'string' ? (form[name] as string).trim() : ''

/** Register POST /boxes/:id/{sync-now,config,revoke} on the console (behind its session and CSRF checks). */
export function registerBoxCommandForms(app: Hono<Env>, d: FormDeps): void {
  const send = async (c: Context, s: ConsoleSession, id: string, cmd: OperatorCommand) => {
    if (!d.boxCommands)
      return d.boxPage(c, s, id, { error: 'This bridge has no link to send box commands.' }, 503)
    try {
      const r = await commandBox(d.db, d.boxCommands, s.tenantId, id, cmd, { actor: s.keyId, now: d.now() })
      const done = !r.sent ? 'not_sent' : r.online ? cmd.type : `${cmd.type}_offline`
      return c.redirect(`/console/boxes/${encodeURIComponent(id)}?done=${done}`, 303)
    } catch (err) {
      if (isBridgeError(err, 'not_found')) return d.notFound(c, s)
      if (isBridgeError(err, 'device_revoked'))
        return d.boxPage(c, s, id, { error: 'The box is revoked: it takes no more commands.' }, 409)
      throw err
    }
  }

  app.post('/boxes/:id/sync-now', async (c) => {
    const s = c.get('session')
    if (!d.operator(s)) return d.notFound(c, s)
    return send(c, s, c.req.param('id'), { type: 'sync_now' })
  })

  app.post('/boxes/:id/config', async (c) => {
    const s = c.get('session')
    if (!d.operator(s)) return d.notFound(c, s)
    const id = c.req.param('id')
    const form = await c.req.parseBody()
    const { rows } = await d.db.query<{ currency: string }>('SELECT currency FROM tenants WHERE id = $1', [
      s.tenantId,
    ])
    const currency = rows[0]?.currency ?? 'EUR'
    const config: ConfigOverride = {}
    try {
      const exposure: NonNullable<ConfigOverride['exposure']> = {}
      for (const name of ['maxUnsyncedTotal', 'maxPerWalletPerDay'] as const) {
        const text = field(form, name)
        if (text) exposure[name] = parseMoney(text, currency, { allowZero: true })
      }
      if (Object.keys(exposure).length) config.exposure = exposure
    } catch (err) {
      if (err instanceof MoneyError || isProtocolError(err))
        return d.boxPage(c, s, id, { error: `Not an amount in ${currency}: ${(err as Error).message}` }, 400)
      throw err
    }
    const level = field(form, 'logLevel')
    if (level) {
      if (!['error', 'warn', 'info', 'debug'].includes(level))
        return d.boxPage(c, s, id, { error: 'Unknown log level.' }, 400)
      config.log = { level: level as 'error' | 'warn' | 'info' | 'debug' }
    }
    if (Object.keys(config).length === 0)
      return d.boxPage(c, s, id, { error: 'Nothing to change: fill in at least one field.' }, 400)
    return send(c, s, id, { type: 'config', config })
  })

  app.post('/boxes/:id/revoke', async (c) => {
    const s = c.get('session')
    if (!d.operator(s)) return d.notFound(c, s)
    const id = c.req.param('id')
    const form = await c.req.parseBody()
    const reason = field(form, 'reason').slice(0, 500)
    if (field(form, 'confirm') !== 'yes' || !reason)
      return d.boxPage(c, s, id, { error: 'Give a reason and tick the box to revoke.' }, 400)
    try {
      await revokeDevice(d.db, s.tenantId, id, { actor: s.keyId, reason, now: d.now() })
    } catch (err) {
      if (isBridgeError(err, 'not_found')) return d.notFound(c, s)
      throw err
    }
    return c.redirect(`/console/boxes/${encodeURIComponent(id)}?done=revoked`, 303)
  })
}
